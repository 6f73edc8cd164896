output "state_bucket" {
  description = "State bucket (TF_STATE_BUCKET)."
  value       = module.state.bucket
}

output "state_kms_key_arn" {
  description = "State KMS key (TF_STATE_KMS_KEY_ARN)."
  value       = module.state.kms_key_arn
}

output "github_oidc_provider_arn" {
  description = "The account's GitHub OIDC provider; environments/production finds it by its URL."
  value       = local.oidc_provider_arn
}

output "permissions_boundary_arn" {
  description = "The boundary every role of environments/production must carry (its permissions_boundary_arn; found by name when unset)."
  value       = local.permissions_boundary_arn
}

output "github_actions_secrets" {
  description = "Repository secrets the workflows read, with their values (no secret values: names and ARNs). docs/runbook.md, \"First deploy\"."
  value = {
    AWS_TERRAFORM_ROLE_ARN      = module.terraform_apply_role.arn
    AWS_TERRAFORM_PLAN_ROLE_ARN = module.terraform_plan_role.arn
    TF_STATE_BUCKET             = module.state.bucket
    TF_STATE_KMS_KEY_ARN        = module.state.kms_key_arn
  }
}
