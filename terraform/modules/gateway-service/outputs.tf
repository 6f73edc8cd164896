output "name" {
  description = "ECS service name."
  value       = aws_ecs_service.this.name
}

output "peak_db_connections" {
  description = "Worst-case PostgreSQL connections (max tasks during a rollout + extras)."
  value       = local.peak_db_connections
}
