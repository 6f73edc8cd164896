data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  bucket_name = coalesce(var.bucket_name, "${var.name}-tfstate-${data.aws_caller_identity.current.account_id}")
}

# A key of its own: the state is read by the Terraform roles only, never by the gateway's services.
resource "aws_kms_key" "this" {
  description             = "${var.name}: Terraform state"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      # Delegates to IAM: only principals whose identity policy names this key can use it.
      Sid       = "AccountAdministersKeyThroughIam"
      Effect    = "Allow"
      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-tfstate"
  target_key_id = aws_kms_key.this.key_id
}

# Every state write is a new version (the way back after a bad apply or a lost state file), kept
# noncurrent_version_retention_days. Its own KMS key; no access-log bucket (reads and writes of
# state are audited by CloudTrail data events, and a log bucket would be one more to bootstrap).
module "bucket" {
  source = "../s3-bucket"

  bucket                             = local.bucket_name
  prevent_destroy                    = true
  kms_key_arn                        = aws_kms_key.this.arn
  lifecycle_rule_id                  = "keep-old-state-versions-for-a-while"
  noncurrent_version_expiration_days = var.noncurrent_version_retention_days
  tags                               = var.tags
}
