output "cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ECS cluster ARN."
  value       = aws_ecs_cluster.this.arn
}

output "service_name" {
  description = "ECS service name."
  value       = aws_ecs_service.this.name
}

output "alb_dns_name" {
  description = "DNS name of the ALB (point the gateway hostname here)."
  value       = aws_lb.this.dns_name
}

output "alb_arn_suffix" {
  description = "ALB ARN suffix (CloudWatch dimension)."
  value       = aws_lb.this.arn_suffix
}

output "target_group_arn_suffix" {
  description = "Target group ARN suffix (CloudWatch dimension)."
  value       = aws_lb_target_group.this.arn_suffix
}

output "gateway_task_definition_arn" {
  description = "Task definition of the service."
  value       = aws_ecs_task_definition.gateway.arn
}

output "migrate_task_definition_arn" {
  description = "One-off schema migration task definition."
  value       = aws_ecs_task_definition.migrate.arn
}

output "db_bootstrap_task_definition_arn" {
  description = "One-off database role bootstrap task definition."
  value       = aws_ecs_task_definition.db_bootstrap.arn
}

output "execution_role_arn" {
  description = "Task execution role."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "Task role (Bedrock invoke + config read)."
  value       = aws_iam_role.task.arn
}

output "log_group_name" {
  description = "Gateway log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "config_bucket" {
  description = "Config bucket name."
  value       = aws_s3_bucket.config.bucket
}

output "config_sha256" {
  description = "SHA-256 of the uploaded config (also in the task environment)."
  value       = local.config_sha256
}

output "peak_db_connections" {
  description = "Worst-case PostgreSQL connections (max tasks during a rollout + extras)."
  value       = local.peak_db_connections
}
