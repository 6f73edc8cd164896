output "master_key_secret_arn" {
  description = "ARN of the LiteLLM master key secret."
  value       = aws_secretsmanager_secret.master_key.arn
}

output "master_key_secret_name" {
  description = "Name of the LiteLLM master key secret."
  value       = aws_secretsmanager_secret.master_key.name
}

output "salt_key_secret_arn" {
  description = "ARN of the LiteLLM salt key secret."
  value       = aws_secretsmanager_secret.salt_key.arn
}

output "salt_key_secret_name" {
  description = "Name of the LiteLLM salt key secret."
  value       = aws_secretsmanager_secret.salt_key.name
}
