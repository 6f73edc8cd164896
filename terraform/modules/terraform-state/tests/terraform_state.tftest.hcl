# The state bucket: the s3-bucket module's hardening (tested there), protected from destruction,
# named per account, encrypted with a key of its own that rotates.

mock_provider "aws" {
  source = "../../tests/mocks/aws"
  # Known at plan time: the bucket refuses destruction (prevent_destroy), so these tests only plan.
  override_during = plan
}

variables {
  name = "llm-gateway"
}

run "state_bucket_is_protected" {
  command = plan

  assert {
    condition     = output.bucket == "llm-gateway-tfstate-123456789012"
    error_message = "Default name <name>-tfstate-<account id>."
  }

  assert {
    condition     = output.kms_key_arn == aws_kms_key.this.arn && module.bucket.kms_key_arn == aws_kms_key.this.arn
    error_message = "State is encrypted with the module's own KMS key."
  }

  assert {
    condition     = aws_kms_key.this.enable_key_rotation && aws_kms_alias.this.name == "alias/llm-gateway-tfstate"
    error_message = "The state key rotates and has an alias."
  }
}

run "keeps_versions_at_least_30_days" {
  command = plan

  variables {
    noncurrent_version_retention_days = 7
  }

  expect_failures = [var.noncurrent_version_retention_days]
}
