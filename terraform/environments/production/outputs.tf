output "alb_dns_name" {
  description = "Point the gateway hostname (CNAME/alias) at this."
  value       = module.load_balancer.dns_name
}

output "cluster_name" {
  description = "ECS cluster."
  value       = module.ecs_cluster.name
}

output "service_name" {
  description = "ECS service."
  value       = module.gateway_service.name
}

output "migrate_task_definition_arn" {
  description = "Run once before scaling the service and before each image upgrade."
  value       = module.gateway_tasks.migrate_task_definition_arn
}

output "db_bootstrap_task_definition_arn" {
  description = "Run once after bootstrap-secrets to create the application DB role."
  value       = module.gateway_tasks.db_bootstrap_task_definition_arn
}

output "private_subnet_ids" {
  description = "Subnets for one-off tasks (run-task --network-configuration)."
  value       = module.network.private_subnet_ids
}

output "tasks_security_group_id" {
  description = "Security group for one-off tasks."
  value       = module.security_groups.tasks_security_group_id
}

output "master_key_secret_name" {
  description = "Secret name of the LiteLLM master key."
  value       = module.secrets.master_key_secret_name
}

output "salt_key_secret_name" {
  description = "Secret name of the LiteLLM salt key."
  value       = module.secrets.salt_key_secret_name
}

output "db_app_secret_name" {
  description = "Secret name of the application DB login."
  value       = module.database.app_secret_name
}

output "db_address" {
  description = "Database host (used by bootstrap-secrets to build DATABASE_URL)."
  value       = module.database.address
}

output "cache_auth_secret_name" {
  description = "Secret name of the Valkey RBAC password (null without cache)."
  value       = try(module.cache[0].auth_secret_name, null)
}

output "cache_user_id" {
  description = "Valkey RBAC user id switched to password auth by bootstrap-secrets."
  value       = try(module.cache[0].app_user_id, null)
}

output "reconciler_role_arn" {
  description = "Role for the reconciler apply job."
  value       = module.github_oidc_reconciler.reconciler_role_arn
}

output "reconciler_plan_role_arn" {
  description = "Role for read-only PR plans."
  value       = module.github_oidc_reconciler.plan_role_arn
}

output "alarm_topic_arn" {
  description = "SNS topic for alarms."
  value       = module.observability.sns_topic_arn
}

output "peak_db_connections" {
  description = "Worst-case PostgreSQL connections given the autoscaling settings."
  value       = module.gateway_service.peak_db_connections
}

output "bedrock_model_ids" {
  description = "Model IDs the task role may invoke (from policies/models.yaml)."
  value       = local.bedrock_ids
}

output "github_actions_secrets" {
  description = "Repository secrets the deploy, pull-request and drift workflows read, with their values (no secret values: role ARNs and secret names). docs/runbook.md, \"First deploy\"."
  value = merge({
    AWS_RECONCILER_ROLE_ARN      = module.github_oidc_reconciler.reconciler_role_arn
    AWS_PLAN_ROLE_ARN            = module.github_oidc_reconciler.plan_role_arn
    AWS_CHARGEBACK_ROLE_ARN      = module.github_oidc_reconciler.chargeback_role_arn
    LITELLM_MASTER_KEY_SECRET_ID = module.secrets.master_key_secret_name
    LITELLM_PLAN_KEY_SECRET_ID   = module.github_oidc_reconciler.plan_viewer_secret_name
    LITELLM_SPEND_KEY_SECRET_ID  = module.github_oidc_reconciler.spend_reader_secret_name
    GATEWAYCTL_KMS_KEY_ID        = module.kms.key_arn
    GATEWAYCTL_STATE_TABLE       = module.github_oidc_reconciler.state_table_name
    # Where chargeback.yml stores each month's evidence (<bucket>/chargeback/<YYYY-MM>/).
    CHARGEBACK_S3_URI = "s3://${module.chargeback_bucket.id}/chargeback"
    # The admin jobs' gateway address, inside the VPC (the ALB serves only the model APIs).
    LITELLM_ADMIN_URL = module.gateway_service.admin_base_url
    }, var.gateway_url == null ? {} : { LITELLM_BASE_URL = var.gateway_url },
    var.notification_sender == null ? {} : { GATEWAYCTL_NOTIFY = "ses", GATEWAYCTL_NOTIFY_FROM = var.notification_sender },
    # drift.yml's directory job (gatewayctl directory-check).
    local.identity_center_enabled ? {
      AWS_DIRECTORY_ROLE_ARN     = module.github_oidc_reconciler.directory_role_arn
      GATEWAYCTL_IDENTITY_STORE  = var.identity_store_id
      GATEWAYCTL_DIRECTORY_GROUP = var.identity_center_group_id
      # Where the store answers, and which attribute the session tag comes from: the check reads the same.
      GATEWAYCTL_DIRECTORY_REGION    = var.identity_center_region != "" ? var.identity_center_region : var.aws_region
      GATEWAYCTL_DIRECTORY_ATTRIBUTE = var.identity_center_user_id_attribute
    } : {},
  )
}

output "notification_sender_dkim_tokens" {
  description = "For a domain notification_sender_identity: the DKIM tokens; publish <token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com for each to verify it. Empty for an address (SES mails it a link) or without SES."
  value       = try(aws_sesv2_email_identity.notification_sender[0].dkim_signing_attributes[0].tokens, [])
}

output "employee_key_access_policy_arn" {
  description = "Policy that lets an employee read only their own key secret (attach to their permission set or role)."
  value       = module.employee_key_access.policy_arn
}

output "bedrock_ceiling_usd" {
  description = "The most budget_user_mix can spend on Bedrock in a month under policies/tiers.yaml: members' monthly budgets plus one request's overshoot each (budget exceptions come on top while they last)."
  value       = local.bedrock_ceiling_usd
}

output "monthly_budget_usd" {
  description = "The AWS Budget's monthly limit: monthly_budget_usd, or infrastructure_monthly_usd + bedrock_ceiling_usd."
  value       = local.monthly_budget_usd
}

output "runner_project_name" {
  description = "CodeBuild project of the VPC runner: the admin jobs run with runs-on: codebuild-<this>-$${{ github.run_id }}-$${{ github.run_attempt }}."
  value       = module.github_runner.project_name
}

output "break_glass" {
  description = "What the emergency revoke of docs/runbook.md runs: the role to assume and the aws ecs run-task arguments (null without break_glass_principal_arns)."
  value = length(module.break_glass) == 0 ? null : {
    role_arn              = module.break_glass[0].role_arn
    cluster               = module.ecs_cluster.name
    task_definition       = module.break_glass[0].task_definition_family
    container             = module.break_glass[0].container_name
    network_configuration = module.break_glass[0].network_configuration
  }
}

output "identity_center_permission_set_arn" {
  description = "The key-access permission set employees sign in with (null while identity_center_instance_arn is empty)."
  value       = try(module.identity_center[0].permission_set_arn, null)
}

output "bedrock_application_profiles" {
  description = "The tiers' application inference profiles by <tier>-<model alias>: ARN and the profile each copies ({} unless bedrock_application_profiles)."
  value       = module.application_profiles.profiles
}
