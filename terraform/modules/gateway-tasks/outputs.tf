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

output "container_name" {
  description = "Name of the LiteLLM container in the gateway task (the load balancer's target)."
  value       = local.container_name
}

output "gateway_secret_arns" {
  description = "Secrets Manager ARNs the gateway and migrate tasks are started with (what their execution role must read, and nothing else)."
  value       = local.app_secret_arns
}

output "log_group_name" {
  description = "Log group of all three tasks."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the log group."
  value       = aws_cloudwatch_log_group.this.arn
}

output "config_object_arn" {
  description = "ARN of the uploaded config object."
  value       = local.config_object_arn
}

output "config_sha256" {
  description = "SHA-256 of the uploaded config (also in the task environment)."
  value       = local.config_sha256
}

output "execution_role_arn" {
  description = "Execution role of the gateway and migrate tasks (image pull, the gateway's secrets, logs)."
  value       = aws_iam_role.this["execution"].arn
}

output "task_role_arn" {
  description = "Task role of the gateway and migrate tasks (Bedrock invoke, config read)."
  value       = aws_iam_role.this["task"].arn
}

output "db_bootstrap_execution_role_arn" {
  description = "Execution role of the one-off db-bootstrap task (RDS master secret, app secret, logs)."
  value       = aws_iam_role.this["db_bootstrap_execution"].arn
}

output "task_bedrock_policy" {
  description = "The task role's Bedrock invoke policy (JSON): the inference profiles of policies/models.yaml and the foundation model in the Regions each routes to."
  value       = aws_iam_role_policy.task_bedrock.policy
}
