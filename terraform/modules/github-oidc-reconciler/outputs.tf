output "reconciler_role_arn" {
  description = "Role assumed by the reconciler apply job (configure-aws-credentials role-to-assume)."
  value       = module.reconciler_role.arn
}

output "plan_role_arn" {
  description = "Read-only role for pull-request plans (null when disabled)."
  value       = try(module.plan_role[0].arn, null)
}

output "plan_viewer_secret_name" {
  description = "Secret (written by `gatewayctl apply --plan-viewer`) holding the proxy_admin_viewer key PR plans use."
  value       = var.plan_viewer_secret_name
}

output "user_secret_prefix" {
  description = "Prefix of per-user key secrets."
  value       = var.user_secret_prefix
}

output "state_table_name" {
  description = "DynamoDB table of the gateway lock and the converged commit, written only by the reconciler role (GATEWAYCTL_STATE_TABLE)."
  value       = aws_dynamodb_table.state.name
}

output "directory_role_arn" {
  description = "Read-only Identity Store role of the nightly directory check (null without `directory`)."
  value       = try(module.directory_role[0].arn, null)
}

output "chargeback_role_arn" {
  description = "Role assumed by the monthly chargeback (chargeback.yml); null without a chargeback bucket."
  value       = try(module.chargeback_role[0].arn, null)
}

output "spend_reader_secret_name" {
  description = "Secret (written by `gatewayctl apply --spend-reader`) holding the key limited to /spend/logs/v2 the chargeback reads with."
  value       = var.spend_reader_secret_name
}

output "chargeback_policy_json" {
  description = "The chargeback role's inline policy (for review and tests)."
  value       = local.chargeback_policy
}
