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
