output "alb_security_group_id" {
  description = "Security group of the ALB."
  value       = aws_security_group.alb.id
}

output "tasks_security_group_id" {
  description = "Security group of the gateway tasks (service, migration, bootstrap)."
  value       = aws_security_group.tasks.id
}

output "db_security_group_id" {
  description = "Security group of the database."
  value       = aws_security_group.db.id
}

output "cache_security_group_id" {
  description = "Security group of the cache (null when disabled)."
  value       = try(aws_security_group.cache[0].id, null)
}

output "endpoints_security_group_id" {
  description = "Security group of the interface endpoints (null when disabled)."
  value       = try(aws_security_group.endpoints[0].id, null)
}

output "runner_security_group_id" {
  description = "Security group of the CI runner in the VPC (the only source the tasks admit besides the ALB)."
  value       = aws_security_group.runner.id
}
