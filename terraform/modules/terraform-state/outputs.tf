output "bucket" {
  description = "State bucket name (backend setting `bucket`)."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "State bucket ARN."
  value       = aws_s3_bucket.this.arn
}

output "kms_key_arn" {
  description = "KMS key encrypting the state (backend setting `kms_key_id`)."
  value       = aws_kms_key.this.arn
}
