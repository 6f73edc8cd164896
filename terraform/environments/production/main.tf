locals {
  tags = merge(var.tags, {
    Project     = "llm-gateway-gitops"
    Environment = "production"
    ManagedBy   = "terraform"
  })

  # Single source of truth for which models exist: policies/models.yaml.
  models_file = coalesce(var.models_file_path, "${path.module}/../../../policies/models.yaml")
  models_doc  = yamldecode(file(local.models_file))
  bedrock_ids = sort(distinct([for alias, m in local.models_doc.models : m.bedrock_model_id]))

  gateway_config_file = coalesce(var.gateway_config_path, "${path.module}/../../../gateway/config.yaml")

  endpoints_enabled = var.egress_mode == "endpoints"

  github_oidc_provider_arn = coalesce(var.github_oidc_provider_arn, try(data.aws_iam_openid_connect_provider.github[0].arn, null))
}

# Created once per account by terraform/bootstrap, together with the roles Terraform runs as.
data "aws_iam_openid_connect_provider" "github" {
  count = var.github_oidc_provider_arn == null ? 1 : 0
  url   = "https://token.actions.githubusercontent.com"
}

check "models_region_matches" {
  assert {
    condition     = local.models_doc.region == var.aws_region
    error_message = "policies/models.yaml region (${local.models_doc.region}) differs from aws_region (${var.aws_region})."
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

module "gateway" {
  source = "../../modules/gateway"

  name              = var.name
  image             = var.litellm_image
  config_file_path  = local.gateway_config_file
  bedrock_model_ids = local.bedrock_ids

  vpc_id                  = module.network.vpc_id
  public_subnet_ids       = module.network.public_subnet_ids
  private_subnet_ids      = module.network.private_subnet_ids
  alb_security_group_id   = module.security_groups.alb_security_group_id
  tasks_security_group_id = module.security_groups.tasks_security_group_id
  certificate_arn         = var.certificate_arn
  kms_key_arn             = module.kms.key_arn
  admin_ingress_cidrs     = var.gateway_admin_ingress_cidrs

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

  proxy_port                 = var.proxy_port
  task_cpu                   = var.gateway_task_cpu
  task_memory                = var.gateway_task_memory
  paused                     = var.gateway_paused
  workers_per_task           = var.gateway_workers_per_task
  min_tasks                  = var.gateway_min_tasks
  max_tasks                  = var.gateway_max_tasks
  deployment_maximum_percent = var.gateway_deployment_maximum_percent
  db_pool_limit              = var.db_pool_limit
  db_max_connections         = var.db_max_connections
  db_reserved_connections    = var.db_reserved_connections
  extra_db_connections       = var.reconciler_db_connections + var.migration_db_connections

  alb_deletion_protection = var.deletion_protection
  force_destroy_buckets   = !var.deletion_protection

  tags = local.tags
}

module "observability" {
  source = "../../modules/observability"

  name                      = var.name
  kms_key_arn               = module.kms.key_arn
  alarm_emails              = var.alarm_emails
  alb_arn_suffix            = module.gateway.alb_arn_suffix
  target_group_arn_suffix   = module.gateway.target_group_arn_suffix
  ecs_cluster_name          = module.gateway.cluster_name
  ecs_cluster_arn           = module.gateway.cluster_arn
  ecs_service_name          = module.gateway.service_name
  db_instance_id            = module.database.instance_id
  rds_connections_threshold = var.db_max_connections - var.db_reserved_connections
  monthly_budget_usd        = var.monthly_budget_usd
  tags                      = local.tags
}

module "github_oidc_reconciler" {
  source = "../../modules/github-oidc-reconciler"

  name                  = var.name
  github_repository     = var.github_repository
  deploy_environment    = var.github_deploy_environment
  oidc_provider_arn     = local.github_oidc_provider_arn
  master_key_secret_arn = module.secrets.master_key_secret_arn
  user_secret_prefix    = var.user_secret_prefix
  kms_key_arn           = module.kms.key_arn
  tags                  = local.tags
}

# Employees read their own key secret (ABAC on the gitops_user_id tag gatewayctl writes);
# attach the policy where employees sign in (see docs/using-the-gateway.md, "Get your key").
module "employee_key_access" {
  source = "../../modules/employee-key-access"

  name               = var.name
  user_secret_prefix = var.user_secret_prefix
  kms_key_arn        = module.kms.key_arn
  tags               = local.tags
}
