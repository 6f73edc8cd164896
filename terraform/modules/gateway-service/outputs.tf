output "name" {
  description = "ECS service name."
  value       = aws_ecs_service.this.name
}

output "peak_db_connections" {
  description = "Worst-case PostgreSQL connections (max tasks during a rollout + extras)."
  value       = local.peak_db_connections
}

output "admin_base_url" {
  description = "URL of LiteLLM (admin API included) inside the VPC, for gatewayctl on the CI runner: the tasks by their private DNS name, on the proxy port. Plain HTTP, like the ALB's hop to the tasks: the traffic never leaves the VPC."
  value       = "http://${aws_service_discovery_service.admin.name}.${aws_service_discovery_private_dns_namespace.admin.name}:${var.container_port}"
}
