locals {
  tags = merge(var.tags, {
    Project     = "llm-gateway-gitops"
    Environment = "production"
    ManagedBy   = "terraform"
  })

  # Single source of truth for which models exist: policies/models.yaml.
  models_file = coalesce(var.models_file_path, "${path.module}/../../../policies/models.yaml")
  models_doc  = yamldecode(file(local.models_file))
  # Each model's ID and, with `fallback:`, the same model through that profile (reconciler/desired/bedrock.py
  # with_profile says the same): the task role may invoke what the gateway may be served by.
  profile_prefix = "/^(global|us|us-gov|eu|apac|jp|au|ca)\\./"
  bedrock_ids = sort(distinct(flatten([for alias, m in local.models_doc.models : [
    m.bedrock_model_id,
    [for p in compact([try(m.fallback, null)]) : p == "in-region" ? replace(m.bedrock_model_id, local.profile_prefix, "") : "${p}.${replace(m.bedrock_model_id, local.profile_prefix, "")}"],
  ]])))
  # Where each geographic profile routes: the pinned table validate checks models.yaml against.
  profiles_file = coalesce(var.profiles_file_path, "${path.module}/../../../policies/bedrock-profiles.yaml")
  inference_profile_regions = {
    for id in local.bedrock_ids : id => yamldecode(file(local.profiles_file)).models[replace(id, local.profile_prefix, "")].profiles[regex("^[a-z-]+", id)]
    if replace(id, local.profile_prefix, "") != id && !startswith(id, "global.")
  }

  gateway_config_file = coalesce(var.gateway_config_path, "${path.module}/../../../gateway/config.yaml")
  # Connections per LiteLLM worker, as the gateway reads it (the connection budget's unit).
  db_pool_limit = yamldecode(file(local.gateway_config_file)).general_settings.database_connection_pool_limit

  endpoints_enabled = var.egress_mode == "endpoints"

  # The AWS Budget follows from the tiers: each budgeted member can spend their tier's monthly budget,
  # and concurrent calls overshoot it by at most one request (max_request_usd, docs/architecture.md
  # "Budgets under concurrency"). Time-boxed budget exceptions come on top while they last (each up to
  # the tier's max_exception_usd). A mix key that is no tier fails the plan here.
  tiers_file = coalesce(var.tiers_file_path, "${path.module}/../../../policies/tiers.yaml")
  tiers      = yamldecode(file(local.tiers_file)).tiers
  bedrock_ceiling_usd = sum(concat([0], [
    for tier, users in var.budget_user_mix : users * (local.tiers[tier].monthly_budget_usd + local.tiers[tier].max_request_usd)
  ]))
  monthly_budget_usd = coalesce(var.monthly_budget_usd, var.infrastructure_monthly_usd + local.bedrock_ceiling_usd)

  # Where the ALB writes its access logs in the log bucket, and where that bucket lets it write.
  alb_access_log_prefix = "alb"

  github_oidc_provider_arn = coalesce(var.github_oidc_provider_arn, try(data.aws_iam_openid_connect_provider.github[0].arn, null))
  permissions_boundary_arn = coalesce(var.permissions_boundary_arn, try(data.aws_iam_policy.permissions_boundary[0].arn, null))

  # The role gatewayctl writes per-user key secrets as (module.github_oidc_reconciler), spelled out: the
  # KMS key's policy names it, and that module needs the key (the check below keeps the two in step).
  reconciler_role_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/${var.name}-reconciler"
}

check "kms_names_the_reconciler_role" {
  assert {
    condition     = module.github_oidc_reconciler.reconciler_role_arn == local.reconciler_role_arn
    error_message = "The KMS key policy names ${local.reconciler_role_arn}, but the reconciler role is ${module.github_oidc_reconciler.reconciler_role_arn}."
  }
}

# Created once per account by terraform/bootstrap, together with the roles Terraform runs as.
data "aws_iam_openid_connect_provider" "github" {
  count = var.github_oidc_provider_arn == null ? 1 : 0
  url   = "https://token.actions.githubusercontent.com"
}

# The boundary every role of this stack carries; terraform/bootstrap creates it and lets the Terraform
# apply role create or change only roles that carry it.
data "aws_iam_policy" "permissions_boundary" {
  count = var.permissions_boundary_arn == null ? 1 : 0
  name  = "${var.name}-boundary"
}

check "models_region_matches" {
  assert {
    condition     = local.models_doc.region == var.aws_region
    error_message = "policies/models.yaml region (${local.models_doc.region}) differs from aws_region (${var.aws_region})."
  }
}

check "vpc_runner_reaches_github" {
  assert {
    condition     = var.egress_mode == "nat"
    error_message = "The VPC runner (modules/github-runner) reaches GitHub through the NAT gateway; egress_mode \"endpoints\" has none, so the admin jobs would never start (docs/adr/0006-admin-api-not-on-the-internet.md)."
  }
}

check "rate_limits_exact" {
  assert {
    condition     = var.cache_enabled || (var.gateway_max_tasks * ceil(var.gateway_deployment_maximum_percent / 100) * var.gateway_workers_per_task) == 1
    error_message = "Without the cache, LiteLLM counts RPM/TPM per worker process: limits are only exact with a single task and a single worker. See docs/adr/0003-redis-for-exact-rate-limits.md."
  }
}

module "kms" {
  source = "../../modules/kms"

  name = var.name
  user_key_secrets = {
    secret_prefix   = var.user_secret_prefix
    writer_role_arn = local.reconciler_role_arn
  }
  tags = local.tags
}

module "network" {
  source = "../../modules/network"

  name                        = var.name
  cidr_block                  = var.vpc_cidr
  azs                         = var.azs
  egress_mode                 = var.egress_mode
  nat_gateway_per_az          = var.nat_gateway_per_az
  endpoint_security_group_ids = compact([module.security_groups.endpoints_security_group_id])
  kms_key_arn                 = module.kms.key_arn
  permissions_boundary        = local.permissions_boundary_arn
  tags                        = local.tags
}

module "security_groups" {
  source = "../../modules/security-groups"

  name              = var.name
  vpc_id            = module.network.vpc_id
  proxy_port        = var.proxy_port
  alb_ingress_cidrs = var.alb_ingress_cidrs
  cache_enabled     = var.cache_enabled
  endpoints_enabled = local.endpoints_enabled
  s3_prefix_list_id = local.endpoints_enabled ? module.network.s3_prefix_list_id : null
  tags              = local.tags
}

module "secrets" {
  source = "../../modules/secrets"

  name_prefix = var.secret_name_prefix
  kms_key_arn = module.kms.key_arn
  tags        = local.tags
}

module "database" {
  source = "../../modules/database"

  identifier          = var.name
  instance_class      = var.db_instance_class
  subnet_ids          = module.network.private_subnet_ids
  security_group_ids  = [module.security_groups.db_security_group_id]
  kms_key_arn         = module.kms.key_arn
  secret_name_prefix  = var.secret_name_prefix
  deletion_protection = var.deletion_protection
  tags                = local.tags
}

module "cache" {
  source = "../../modules/cache"
  count  = var.cache_enabled ? 1 : 0

  name               = var.name
  node_type          = var.cache_node_type
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [module.security_groups.cache_security_group_id]
  kms_key_arn        = module.kms.key_arn
  secret_name_prefix = var.secret_name_prefix
  tags               = local.tags
}

# ------------------------------------------------------------------ the gateway
# Its config bucket, the access-log bucket, the load balancer, the cluster, the tasks' roles and
# definitions, and the service: one module each (moved.tf maps the addresses of the former single
# modules/gateway onto them).
module "config_bucket" {
  source = "../../modules/s3-bucket"

  bucket_prefix                      = "${var.name}-config-"
  kms_key_arn                        = module.kms.key_arn
  lifecycle_rule_id                  = "expire-old-config-versions"
  noncurrent_version_expiration_days = 90
  access_log                         = { bucket = module.access_logs_bucket.id, prefix = "s3-access/config/" }
  force_destroy                      = !var.deletion_protection
  tags                               = local.tags
}

# ALB access logs and the config bucket's S3 access logs. SSE-S3: ALB log delivery supports no other.
module "access_logs_bucket" {
  source = "../../modules/s3-bucket"

  bucket_prefix                      = "${var.name}-logs-"
  lifecycle_rule_id                  = "expire-logs"
  expiration_days                    = 90
  noncurrent_version_expiration_days = 7
  alb_access_log_prefix              = local.alb_access_log_prefix
  server_access_log_delivery         = { prefix = "s3-access", source_bucket_arn = module.config_bucket.arn }
  force_destroy                      = !var.deletion_protection
  tags                               = local.tags
}

# The monthly chargeback's evidence (chargeback.yml, scripts/ci/monthly-chargeback): each month's CSV and
# manifest, write-once. Object Lock in GOVERNANCE mode locks every version for the retention: the
# chargeback role (s3:PutObject under its prefix, nothing else) and every role without
# s3:BypassGovernanceRetention cannot delete a version or shorten its lock; a re-run adds a version.
# Not COMPLIANCE: that would bind the account's administrators too for 8 years and leave no way to
# tear the stack down (force_destroy bypasses a governance lock; nothing bypasses a compliance one).
module "chargeback_bucket" {
  source = "../../modules/s3-bucket"

  bucket_prefix                      = "${var.name}-chargeback-"
  kms_key_arn                        = module.kms.key_arn
  lifecycle_rule_id                  = "keep-replaced-evidence"
  noncurrent_version_expiration_days = var.chargeback_evidence_retention_days
  object_lock                        = { mode = "GOVERNANCE", days = var.chargeback_evidence_retention_days }
  force_destroy                      = !var.deletion_protection
  tags                               = local.tags
}

module "load_balancer" {
  source = "../../modules/gateway-load-balancer"

  name                = var.name
  vpc_id              = module.network.vpc_id
  subnet_ids          = module.network.public_subnet_ids
  security_group_id   = module.security_groups.alb_security_group_id
  certificate_arn     = var.certificate_arn
  target_port         = var.proxy_port
  access_logs_bucket  = module.access_logs_bucket.id
  access_logs_prefix  = local.alb_access_log_prefix
  deletion_protection = var.deletion_protection
  tags                = local.tags
}

module "ecs_cluster" {
  source = "../../modules/ecs-cluster"

  name = var.name
  tags = local.tags
}

module "gateway_tasks" {
  source = "../../modules/gateway-tasks"

  name              = var.name
  image             = var.litellm_image
  config_file_path  = local.gateway_config_file
  config_bucket     = module.config_bucket.id
  kms_key_arn       = module.kms.key_arn
  bedrock_model_ids = local.bedrock_ids
  # geographic profiles: the foundation model in the Regions each routes to
  inference_profile_regions = local.inference_profile_regions
  permissions_boundary      = local.permissions_boundary_arn
  guardrails                = module.guardrails.guardrails
  application_profiles      = module.application_profiles.profiles

  master_key_secret_arn = module.secrets.master_key_secret_arn
  salt_key_secret_arn   = module.secrets.salt_key_secret_arn
  db_app_secret_arn     = module.database.app_secret_arn
  db_master_secret_arn  = module.database.master_user_secret_arn
  db_address            = module.database.address
  db_port               = module.database.port
  db_name               = module.database.database_name

  cache = var.cache_enabled ? {
    host            = module.cache[0].primary_endpoint_address
    port            = module.cache[0].port
    username        = module.cache[0].app_username
    auth_secret_arn = module.cache[0].auth_secret_arn
  } : null

  proxy_port       = var.proxy_port
  task_cpu         = var.gateway_task_cpu
  task_memory      = var.gateway_task_memory
  workers_per_task = var.gateway_workers_per_task
  tags             = local.tags
}

module "gateway_service" {
  source = "../../modules/gateway-service"

  name                    = var.name
  cluster_name            = module.ecs_cluster.name
  cluster_arn             = module.ecs_cluster.arn
  task_definition_arn     = module.gateway_tasks.gateway_task_definition_arn
  container_name          = module.gateway_tasks.container_name
  container_port          = var.proxy_port
  target_group_arn        = module.load_balancer.target_group_arn
  alb_arn_suffix          = module.load_balancer.arn_suffix
  target_group_arn_suffix = module.load_balancer.target_group_arn_suffix
  subnet_ids              = module.network.private_subnet_ids
  security_group_id       = module.security_groups.tasks_security_group_id
  vpc_id                  = module.network.vpc_id

  paused                     = var.gateway_paused
  min_tasks                  = var.gateway_min_tasks
  max_tasks                  = var.gateway_max_tasks
  deployment_maximum_percent = var.gateway_deployment_maximum_percent
  workers_per_task           = var.gateway_workers_per_task
  db_pool_limit              = local.db_pool_limit
  db_max_connections         = var.db_max_connections
  db_reserved_connections    = var.db_reserved_connections
  extra_db_connections       = var.reconciler_db_connections + var.migration_db_connections
  tags                       = local.tags
}

module "observability" {
  source = "../../modules/observability"

  name                      = var.name
  kms_key_arn               = module.kms.key_arn
  alarm_emails              = var.alarm_emails
  alb_arn_suffix            = module.load_balancer.arn_suffix
  target_group_arn_suffix   = module.load_balancer.target_group_arn_suffix
  ecs_cluster_name          = module.ecs_cluster.name
  ecs_cluster_arn           = module.ecs_cluster.arn
  ecs_service_name          = module.gateway_service.name
  db_instance_id            = module.database.instance_id
  rds_connections_threshold = var.db_max_connections - var.db_reserved_connections
  monthly_budget_usd        = local.monthly_budget_usd
  tags                      = local.tags
}

# The sender of key notices and budget alerts over SES (GATEWAYCTL_NOTIFY=ses): its identity here, the
# permission to send as that one address on the reconciler role. SES verifies it once (a link mailed to
# the address, or the domain's DKIM records); docs/runbook.md, "Repository settings".
resource "aws_sesv2_email_identity" "notification_sender" {
  count = var.notification_sender == null ? 0 : 1

  email_identity = coalesce(var.notification_sender_identity, var.notification_sender)
  tags           = local.tags
}

locals {
  notification_sender_identity_arn = var.notification_sender == null ? null : join(":", [
    "arn", data.aws_partition.current.partition, "ses", var.aws_region, data.aws_caller_identity.current.account_id,
    "identity/${aws_sesv2_email_identity.notification_sender[0].email_identity}",
  ])
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

module "github_oidc_reconciler" {
  source = "../../modules/github-oidc-reconciler"

  name                             = var.name
  github_repository                = var.github_repository
  deploy_environment               = var.github_deploy_environment
  oidc_provider_arn                = local.github_oidc_provider_arn
  master_key_secret_arn            = module.secrets.master_key_secret_arn
  user_secret_prefix               = var.user_secret_prefix
  kms_key_arn                      = module.kms.key_arn
  notification_sender_identity_arn = local.notification_sender_identity_arn
  notification_sender_address      = var.notification_sender
  create_chargeback_role           = true
  chargeback_bucket_arn            = module.chargeback_bucket.arn
  chargeback_kms_key_arn           = module.chargeback_bucket.kms_key_arn
  directory = local.identity_center_enabled ? {
    identity_store_id = var.identity_store_id
    group_id          = var.identity_center_group_id
  } : null
  permissions_boundary = local.permissions_boundary_arn
  tags                 = local.tags
}

# The only place the admin API is reached from: a CodeBuild-hosted GitHub Actions runner in the
# private subnets, for the jobs of these workflows (their `name:`). docs/adr/0006.
module "github_runner" {
  source = "../../modules/github-runner"

  name                  = "${var.name}-runner"
  github_repository     = var.github_repository
  github_connection_arn = var.github_connection_arn
  trusted_workflows     = ["deploy", "rotate", "drift", "pull-request", "chargeback"]
  vpc_id                = module.network.vpc_id
  subnet_ids            = module.network.private_subnet_ids
  security_group_id     = module.security_groups.runner_security_group_id
  kms_key_arn           = module.kms.key_arn
  permissions_boundary  = local.permissions_boundary_arn
  tags                  = local.tags
}

# Employees read their own key secret (ABAC on the gitops_user_id tag gatewayctl writes); module
# "identity_center" below puts the policy in their permission set (docs/using-the-gateway.md, "Get your key").
module "employee_key_access" {
  source = "../../modules/employee-key-access"

  name               = var.name
  user_secret_prefix = var.user_secret_prefix
  kms_key_arn        = module.kms.key_arn
  tags               = local.tags
}

# The Identity Center side of the key access: the gitops_user_id session tag mapped from the directory,
# a permission set carrying the policy above, assigned to the employees' group in this account. Off
# while identity_center_instance_arn is empty (docs/runbook.md, "Identity Center").
module "identity_center" {
  source = "../../modules/identity-center"
  count  = local.identity_center_enabled ? 1 : 0
  providers = {
    aws = aws.identity_center
  }

  instance_arn       = var.identity_center_instance_arn
  group_id           = var.identity_center_group_id
  inline_policy_json = module.employee_key_access.policy_json
  session_tag_key    = module.employee_key_access.owner_tag_key
  user_id_attribute  = var.identity_center_user_id_attribute
  session_duration   = var.identity_center_session_duration
  tags               = local.tags
}

locals {
  identity_center_enabled = var.identity_center_instance_arn != ""
}

# Emergency revoke outside business hours (docs/runbook.md): the listed people assume
# <name>-break-glass, which may only start a one-off task in the VPC that blocks one alias's keys.
# Not created while the list is empty: no role to assume, no extra way into the tasks.
module "break_glass" {
  source = "../../modules/break-glass"
  count  = length(var.break_glass_principal_arns) > 0 ? 1 : 0

  name                    = var.name
  trusted_principal_arns  = var.break_glass_principal_arns
  cluster_arn             = module.ecs_cluster.arn
  vpc_id                  = module.network.vpc_id
  subnet_ids              = module.network.private_subnet_ids
  tasks_security_group_id = module.security_groups.tasks_security_group_id
  proxy_port              = var.proxy_port
  admin_url               = module.gateway_service.admin_base_url
  image                   = var.litellm_image
  master_key_secret_arn   = module.secrets.master_key_secret_arn
  kms_key_arn             = module.kms.key_arn
  log_group_name          = module.gateway_tasks.log_group_name
  log_group_arn           = module.gateway_tasks.log_group_arn
  permissions_boundary    = local.permissions_boundary_arn
  tags                    = local.tags
}

check "break_glass_has_someone" {
  assert {
    condition     = length(var.break_glass_principal_arns) > 0
    error_message = "break_glass_principal_arns is empty: nobody can revoke a key outside a reviewed deploy (docs/runbook.md, \"Emergency revoke\")."
  }
}
