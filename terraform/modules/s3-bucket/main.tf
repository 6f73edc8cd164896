# One S3 bucket with every hardening setting this project requires: never public, ACLs disabled,
# versioned, encrypted at rest (SSE-KMS with the given key, else SSE-S3), old versions and
# unfinished uploads expire, TLS-only bucket policy, and optional server access logging.

data "aws_caller_identity" "current" {}

# The Region's Elastic Load Balancing account, which writes ALB access logs in Regions that predate
# August 2022 (ap-south-1 among them).
data "aws_elb_service_account" "this" {
  count = var.alb_access_log_prefix == null ? 0 : 1
}

locals {
  # Exactly one of the two bucket resources exists (see aws_s3_bucket.protected).
  bucket_arn = var.prevent_destroy ? aws_s3_bucket.protected[0].arn : aws_s3_bucket.this[0].arn
  account_id = data.aws_caller_identity.current.account_id

  log_delivery_statements = concat(
    var.alb_access_log_prefix == null ? [] : [{
      Sid       = "AlbAccessLogDelivery"
      Effect    = "Allow"
      Principal = { AWS = data.aws_elb_service_account.this[0].arn }
      Action    = "s3:PutObject"
      Resource  = "${local.bucket_arn}/${var.alb_access_log_prefix}/AWSLogs/${local.account_id}/*"
    }],
    var.server_access_log_delivery == null ? [] : [{
      Sid       = "S3ServerAccessLogDelivery"
      Effect    = "Allow"
      Principal = { Service = "logging.s3.amazonaws.com" }
      Action    = "s3:PutObject"
      Resource  = "${local.bucket_arn}/${var.server_access_log_delivery.prefix}/*"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
        ArnLike      = { "aws:SourceArn" = var.server_access_log_delivery.source_bucket_arn }
      }
    }],
  )
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is the caller's call (cost); this project's buckets are reproducible from git, expiring logs, or versioned state
  #checkov:skip=CKV2_AWS_62:No consumer for object events on this project's buckets; callers that have one add a notification
  #checkov:skip=CKV_AWS_18:Access logging is an input (access_log); a log sink cannot log to itself, and state access is audited by CloudTrail data events
  #checkov:skip=CKV_AWS_145:SSE-KMS whenever kms_key_arn is set; only the ALB log sink uses SSE-S3, the sole encryption ALB log delivery supports
  count = var.prevent_destroy ? 0 : 1

  bucket              = var.bucket
  bucket_prefix       = var.bucket_prefix
  force_destroy       = var.force_destroy
  object_lock_enabled = var.object_lock != null
  tags                = var.tags
}

# The same bucket for callers that must never lose it (Terraform state): lifecycle settings cannot
# come from a variable, so prevent_destroy selects this copy of the resource instead.
resource "aws_s3_bucket" "protected" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is the caller's call (cost); this project's buckets are reproducible from git, expiring logs, or versioned state
  #checkov:skip=CKV2_AWS_62:No consumer for object events on this project's buckets; callers that have one add a notification
  #checkov:skip=CKV_AWS_18:Access logging is an input (access_log); a log sink cannot log to itself, and state access is audited by CloudTrail data events
  #checkov:skip=CKV_AWS_145:SSE-KMS whenever kms_key_arn is set; only the ALB log sink uses SSE-S3, the sole encryption ALB log delivery supports
  count = var.prevent_destroy ? 1 : 0

  bucket              = var.bucket
  bucket_prefix       = var.bucket_prefix
  force_destroy       = false
  object_lock_enabled = var.object_lock != null
  tags                = var.tags

  lifecycle {
    prevent_destroy = true
  }
}

# Each setting below names both bucket resources directly rather than through a local: checkov
# links a setting to its bucket only by a direct reference (and then checks, say, versioning).
resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = var.prevent_destroy ? aws_s3_bucket.protected[0].bucket : aws_s3_bucket.this[0].bucket
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = var.prevent_destroy ? aws_s3_bucket.protected[0].bucket : aws_s3_bucket.this[0].bucket
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = var.prevent_destroy ? aws_s3_bucket.protected[0].bucket : aws_s3_bucket.this[0].bucket
  versioning_configuration {
    status = "Enabled"
  }
}

# Write-once evidence: every new object version is locked for the default retention, whatever its writer
# sends, so the writer needs s3:PutObject only. Object Lock is fixed when the bucket is created.
resource "aws_s3_bucket_object_lock_configuration" "this" {
  count = var.object_lock == null ? 0 : 1

  bucket = var.prevent_destroy ? aws_s3_bucket.protected[0].bucket : aws_s3_bucket.this[0].bucket
  rule {
    default_retention {
      mode = var.object_lock.mode
      days = var.object_lock.days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = var.prevent_destroy ? aws_s3_bucket.protected[0].bucket : aws_s3_bucket.this[0].bucket
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    # S3 Bucket Keys only apply to SSE-KMS.
    bucket_key_enabled = var.kms_key_arn == null ? null : true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = var.prevent_destroy ? aws_s3_bucket.protected[0].bucket : aws_s3_bucket.this[0].bucket
  rule {
    id     = var.lifecycle_rule_id
    status = "Enabled"
    filter {}
    dynamic "expiration" {
      for_each = var.expiration_days == null ? [] : [var.expiration_days]
      content {
        days = expiration.value
      }
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_logging" "this" {
  count = var.access_log == null ? 0 : 1

  bucket        = var.prevent_destroy ? aws_s3_bucket.protected[0].bucket : aws_s3_bucket.this[0].bucket
  target_bucket = var.access_log.bucket
  target_prefix = var.access_log.prefix
}

resource "aws_s3_bucket_policy" "this" {
  bucket = var.prevent_destroy ? aws_s3_bucket.protected[0].bucket : aws_s3_bucket.this[0].bucket
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [local.bucket_arn, "${local.bucket_arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }], local.log_delivery_statements, var.policy_statements)
  })

  depends_on = [aws_s3_bucket_public_access_block.this]
}
