output "primary_endpoint_address" {
  description = "Primary endpoint (REDIS_HOST)."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "port" {
  description = "Cache port (REDIS_PORT)."
  value       = aws_elasticache_replication_group.this.port
}

output "app_username" {
  description = "RBAC user for LiteLLM (REDIS_USERNAME)."
  value       = aws_elasticache_user.app.user_name
}

output "app_user_id" {
  description = "RBAC user id (for aws elasticache modify-user)."
  value       = aws_elasticache_user.app.user_id
}

output "auth_secret_arn" {
  description = "Secret holding the RBAC password (key: password)."
  value       = aws_secretsmanager_secret.auth.arn
}

output "auth_secret_name" {
  description = "Name of the RBAC password secret."
  value       = aws_secretsmanager_secret.auth.name
}

output "replication_group_id" {
  description = "Replication group id."
  value       = aws_elasticache_replication_group.this.id
}
