# A KMS-encrypted bucket whose server access logs go to an SSE-S3 log bucket that also takes
# ALB access logs: the two ways this stack uses the module (environments/production).
provider "aws" {
  # Terraform and AWS provider versions: the module's versions.tf.
  region = "ap-south-1"
}

module "kms" {
  source = "../../../kms"

  name = "example-data"
}

module "data_bucket" {
  source = "../.."

  bucket_prefix = "example-data-"
  kms_key_arn   = module.kms.key_arn
  access_log    = { bucket = module.log_bucket.id, prefix = "s3-access/data/" }
}

module "log_bucket" {
  source = "../.."

  bucket_prefix                      = "example-logs-"
  lifecycle_rule_id                  = "expire-logs"
  expiration_days                    = 90
  noncurrent_version_expiration_days = 7
  alb_access_log_prefix              = "alb"
  server_access_log_delivery         = { prefix = "s3-access", source_bucket_arn = module.data_bucket.arn }
}

output "data_bucket" {
  description = "Name of the encrypted bucket."
  value       = module.data_bucket.id
}

output "log_bucket" {
  description = "Name of the log bucket (pass it to an ALB's access_logs)."
  value       = module.log_bucket.id
}
