# Every hardening setting, for each way the project uses the module: a KMS-encrypted bucket that
# logs its access, an SSE-S3 log sink for the ALB and S3, and a bucket that refuses destruction.

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  bucket_prefix = "llm-gateway-config-"
  kms_key_arn   = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  access_log    = { bucket = "llm-gateway-logs-123", prefix = "s3-access/config/" }
}

run "kms_encrypted_bucket_that_logs_its_access" {
  command = apply

  assert {
    condition = alltrue([aws_s3_bucket_public_access_block.this.block_public_acls, aws_s3_bucket_public_access_block.this.block_public_policy,
    aws_s3_bucket_public_access_block.this.ignore_public_acls, aws_s3_bucket_public_access_block.this.restrict_public_buckets])
    error_message = "The bucket is never public."
  }

  assert {
    condition     = one(aws_s3_bucket_ownership_controls.this.rule).object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs are disabled."
  }

  assert {
    condition     = one(aws_s3_bucket_versioning.this.versioning_configuration).status == "Enabled"
    error_message = "Every write is a new version."
  }

  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms" &&
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn &&
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled
    )
    error_message = "SSE-KMS with the given key and an S3 Bucket Key."
  }

  assert {
    condition = (
      one(one(aws_s3_bucket_lifecycle_configuration.this.rule).noncurrent_version_expiration).noncurrent_days == 90 &&
      length(one(aws_s3_bucket_lifecycle_configuration.this.rule).expiration) == 0 &&
      one(one(aws_s3_bucket_lifecycle_configuration.this.rule).abort_incomplete_multipart_upload).days_after_initiation == 1
    )
    error_message = "Old versions expire after 90 days by default, current objects never, unfinished uploads after a day."
  }

  assert {
    condition = (
      jsondecode(aws_s3_bucket_policy.this.policy).Statement == [{
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = ["arn:aws:s3:::llm-gateway-mock-bucket", "arn:aws:s3:::llm-gateway-mock-bucket/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      }]
    )
    error_message = "The policy denies every request without TLS and grants nothing."
  }

  assert {
    condition     = aws_s3_bucket_logging.this[0].target_bucket == "llm-gateway-logs-123" && aws_s3_bucket_logging.this[0].target_prefix == "s3-access/config/"
    error_message = "Server access logs go where access_log says."
  }

  assert {
    condition     = length(aws_s3_bucket.protected) == 0 && aws_s3_bucket.this[0].bucket_prefix == "llm-gateway-config-" && output.arn == aws_s3_bucket.this[0].arn
    error_message = "Without prevent_destroy the plain bucket resource is used."
  }
}

run "log_sink_for_alb_and_s3_access_logs" {
  command = apply

  variables {
    bucket_prefix                      = "llm-gateway-logs-"
    kms_key_arn                        = null
    access_log                         = null
    lifecycle_rule_id                  = "expire-logs"
    expiration_days                    = 90
    noncurrent_version_expiration_days = 7
    alb_access_log_prefix              = "alb"
    server_access_log_delivery         = { prefix = "s3-access", source_bucket_arn = "arn:aws:s3:::llm-gateway-config-123" }
  }

  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256" &&
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled != true
    )
    error_message = "The ALB's log sink uses SSE-S3, the only encryption ALB log delivery supports."
  }

  assert {
    condition = (
      one(aws_s3_bucket_lifecycle_configuration.this.rule).id == "expire-logs" &&
      one(one(aws_s3_bucket_lifecycle_configuration.this.rule).expiration).days == 90 &&
      one(one(aws_s3_bucket_lifecycle_configuration.this.rule).noncurrent_version_expiration).noncurrent_days == 7
    )
    error_message = "Logs expire after expiration_days."
  }

  assert {
    condition     = length(aws_s3_bucket_logging.this) == 0
    error_message = "The log sink does not log to itself."
  }

  assert {
    condition = [for st in jsondecode(aws_s3_bucket_policy.this.policy).Statement : st.Sid] == ["DenyInsecureTransport", "AlbAccessLogDelivery", "S3ServerAccessLogDelivery"] && alltrue([
      for st in jsondecode(aws_s3_bucket_policy.this.policy).Statement : st.Action == "s3:PutObject" && !endswith(st.Resource, "mock-bucket/*") if st.Effect == "Allow"
    ])
    error_message = "Besides the TLS deny, only the two log deliveries may write, each under its own prefix."
  }

  assert {
    condition = one([for st in jsondecode(aws_s3_bucket_policy.this.policy).Statement : st if st.Sid == "AlbAccessLogDelivery"]) == {
      Sid       = "AlbAccessLogDelivery"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::718504428378:root" }
      Action    = "s3:PutObject"
      Resource  = "arn:aws:s3:::llm-gateway-mock-bucket/alb/AWSLogs/123456789012/*"
    }
    error_message = "The Region's ELB account writes ALB logs for this account only."
  }

  assert {
    condition = one([for st in jsondecode(aws_s3_bucket_policy.this.policy).Statement : st.Condition if st.Sid == "S3ServerAccessLogDelivery"]) == {
      StringEquals = { "aws:SourceAccount" = "123456789012" }
      ArnLike      = { "aws:SourceArn" = "arn:aws:s3:::llm-gateway-config-123" }
    }
    error_message = "S3 delivers access logs of the named bucket of this account only."
  }
}

# prevent_destroy makes any destroying plan fail, so this run only plans.
run "bucket_that_refuses_destruction" {
  command = plan

  variables {
    bucket          = "llm-gateway-tfstate-123456789012"
    bucket_prefix   = null
    access_log      = null
    prevent_destroy = true
  }

  assert {
    condition     = length(aws_s3_bucket.this) == 0 && aws_s3_bucket.protected[0].bucket == var.bucket && aws_s3_bucket.protected[0].force_destroy == false
    error_message = "prevent_destroy selects the protected bucket resource, never force-destroyed."
  }
}

run "evidence_bucket_with_object_lock" {
  command = apply

  variables {
    object_lock                        = { mode = "GOVERNANCE", days = 2922 }
    noncurrent_version_expiration_days = 2922
  }

  assert {
    condition = (
      aws_s3_bucket.this[0].object_lock_enabled &&
      one(one(aws_s3_bucket_object_lock_configuration.this[0].rule).default_retention).mode == "GOVERNANCE" &&
      one(one(aws_s3_bucket_object_lock_configuration.this[0].rule).default_retention).days == 2922 &&
      output.object_lock == { mode = "GOVERNANCE", days = 2922 }
    )
    error_message = "Every new version is locked for the default retention."
  }
}

run "no_object_lock_by_default" {
  command = plan

  assert {
    condition     = !aws_s3_bucket.this[0].object_lock_enabled && length(aws_s3_bucket_object_lock_configuration.this) == 0
    error_message = "Object Lock only when asked for."
  }
}

run "rejects_an_unknown_lock_mode" {
  command = plan

  variables {
    object_lock                        = { mode = "LEGAL_HOLD", days = 30 }
    noncurrent_version_expiration_days = 30
  }

  expect_failures = [var.object_lock]
}

run "rejects_a_lock_longer_than_replaced_versions_are_kept" {
  command = plan

  variables {
    object_lock = { mode = "COMPLIANCE", days = 365 }
  }

  expect_failures = [var.object_lock]
}

run "rejects_both_name_and_prefix" {
  command = plan

  variables {
    bucket = "llm-gateway-config"
  }

  expect_failures = [var.bucket_prefix]
}

run "rejects_alb_logs_into_a_kms_bucket" {
  command = plan

  variables {
    alb_access_log_prefix = "alb"
  }

  expect_failures = [var.alb_access_log_prefix]
}

run "rejects_force_destroy_of_a_protected_bucket" {
  command = plan

  variables {
    prevent_destroy = true
    force_destroy   = true
  }

  expect_failures = [var.prevent_destroy]
}
