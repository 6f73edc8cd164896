output "instance_id" {
  description = "RDS instance identifier."
  value       = aws_db_instance.this.identifier
}

output "address" {
  description = "DNS address of the instance."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Database name."
  value       = aws_db_instance.this.db_name
}

output "master_user_secret_arn" {
  description = "ARN of the RDS-managed master user secret (used only by the db-bootstrap task)."
  value       = try(aws_db_instance.this.master_user_secret[0].secret_arn, null)
}

output "app_secret_arn" {
  description = "ARN of the application-login secret (keys: username, password, DATABASE_URL)."
  value       = aws_secretsmanager_secret.app.arn
}

output "app_secret_name" {
  description = "Name of the application-login secret."
  value       = aws_secretsmanager_secret.app.name
}
