# The state bucket: versioned, KMS-encrypted with its own key, TLS only, never public, old versions kept.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  # Known at plan time: the bucket refuses destruction (prevent_destroy), so these tests only plan.
  mock_resource "aws_s3_bucket" {
    override_during = plan
    defaults = {
      arn = "arn:aws:s3:::llm-gateway-tfstate-123456789012"
    }
  }

  mock_resource "aws_kms_key" {
    override_during = plan
    defaults = {
      arn = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    }
  }
}

variables {
  name = "llm-gateway"
}

run "state_bucket_is_protected" {
  command = plan

  assert {
    condition     = aws_s3_bucket.this.bucket == "llm-gateway-tfstate-123456789012" && aws_s3_bucket.this.force_destroy == false
    error_message = "Default name <name>-tfstate-<account id>; never force-destroyed."
  }

  assert {
    condition     = one(aws_s3_bucket_versioning.this.versioning_configuration).status == "Enabled"
    error_message = "Every state write must be a new version (the way back after a bad apply)."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).kms_master_key_id == aws_kms_key.this.arn
    error_message = "State is encrypted with the module's own KMS key."
  }

  assert {
    condition     = aws_kms_key.this.enable_key_rotation && aws_kms_alias.this.name == "alias/llm-gateway-tfstate"
    error_message = "The state key rotates and has an alias."
  }

  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.this.rule).noncurrent_version_expiration).noncurrent_days == 365
    error_message = "Old state versions are kept 365 days by default."
  }

  assert {
    condition = alltrue([aws_s3_bucket_public_access_block.this.block_public_acls, aws_s3_bucket_public_access_block.this.block_public_policy,
    aws_s3_bucket_public_access_block.this.ignore_public_acls, aws_s3_bucket_public_access_block.this.restrict_public_buckets])
    error_message = "The state bucket is never public."
  }

  assert {
    condition     = jsondecode(aws_s3_bucket_policy.this.policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false" && jsondecode(aws_s3_bucket_policy.this.policy).Statement[0].Effect == "Deny"
    error_message = "Requests without TLS are denied."
  }
}

run "keeps_versions_at_least_30_days" {
  command = plan

  variables {
    noncurrent_version_retention_days = 7
  }

  expect_failures = [var.noncurrent_version_retention_days]
}
