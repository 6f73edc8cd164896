output "name" {
  description = "Cluster name, known only once the FARGATE and FARGATE_SPOT capacity providers are attached: a service placed with them that uses this output is created after them."
  value       = aws_ecs_cluster_capacity_providers.this.cluster_name
}

output "arn" {
  description = "Cluster ARN, likewise known only once the capacity providers are attached."
  value       = aws_ecs_cluster.this.arn

  depends_on = [aws_ecs_cluster_capacity_providers.this]
}
