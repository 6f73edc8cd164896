output "role_arn" {
  description = "The role the listed people assume for an emergency revoke."
  value       = aws_iam_role.break_glass.arn
}

output "task_definition_family" {
  description = "Family of the break-glass task definition (aws ecs run-task --task-definition)."
  value       = aws_ecs_task_definition.break_glass.family
}

output "container_name" {
  description = "Container whose KEY_ALIAS the run-task override sets."
  value       = local.container_name
}

output "security_group_id" {
  description = "Security group the break-glass task runs in (the only one besides the ALB's and the runner's the tasks admit)."
  value       = aws_security_group.break_glass.id
}

output "network_configuration" {
  description = "The --network-configuration of aws ecs run-task: the private subnets, the break-glass security group."
  value = jsonencode({ awsvpcConfiguration = {
    subnets        = var.subnet_ids
    securityGroups = [aws_security_group.break_glass.id]
    assignPublicIp = "DISABLED"
  } })
}
