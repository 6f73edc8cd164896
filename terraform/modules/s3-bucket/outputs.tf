output "id" {
  description = "Bucket name, known only once every hardening setting and the bucket policy are in place: whatever writes to the bucket (objects, ALB or S3 access-log delivery) and uses this output is created after them."
  value       = aws_s3_bucket_policy.this.bucket

  depends_on = [
    aws_s3_bucket_public_access_block.this,
    aws_s3_bucket_ownership_controls.this,
    aws_s3_bucket_versioning.this,
    aws_s3_bucket_server_side_encryption_configuration.this,
    aws_s3_bucket_lifecycle_configuration.this,
    aws_s3_bucket_object_lock_configuration.this,
  ]
}

output "arn" {
  description = "Bucket ARN (known as soon as the bucket exists: use it in policies, not to write)."
  value       = local.bucket_arn
}

output "kms_key_arn" {
  description = "KMS key the bucket's objects are encrypted with by default (null with SSE-S3)."
  value       = var.kms_key_arn == null ? null : one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).kms_master_key_id
}

output "object_lock" {
  description = "The default Object Lock retention (mode, days) of new object versions; null without Object Lock."
  value       = var.object_lock == null ? null : { mode = one(one(aws_s3_bucket_object_lock_configuration.this[0].rule).default_retention).mode, days = one(one(aws_s3_bucket_object_lock_configuration.this[0].rule).default_retention).days }
}
