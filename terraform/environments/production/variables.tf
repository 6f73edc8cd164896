variable "aws_region" {
  description = "AWS Region of the stack; must equal region in policies/models.yaml."
  type        = string
  default     = "ap-south-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS Region code such as ap-south-1."
  }
}

variable "name" {
  description = "Name prefix of all resources."
  type        = string
  default     = "llm-gateway"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,24}$", var.name))
    error_message = "name must be 2-25 lowercase letters, digits or hyphens."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

# ------------------------------------------------------------------ inputs
variable "models_file_path" {
  description = "Path of policies/models.yaml (null = repository default)."
  type        = string
  default     = null
}

variable "profiles_file_path" {
  description = "Path of policies/bedrock-profiles.yaml, the pinned Regions each inference profile routes to (null = repository default)."
  type        = string
  default     = null
}

variable "gateway_config_path" {
  description = "Path of the LiteLLM config uploaded to S3 (null = gateway/config.yaml in the repository)."
  type        = string
  default     = null
}

variable "litellm_image" {
  description = "LiteLLM image pinned by version. litellm-database bundles the Prisma client for Postgres. In egress_mode = endpoints it must be an ECR (pull-through cache) reference."
  type        = string
  default     = "ghcr.io/berriai/litellm-database:v1.108.7"

  validation {
    condition     = !can(regex(":(latest|main-latest|main-stable|main|stable|nightly|dev)$", var.litellm_image)) && can(regex("(:v?[0-9]+\\.[0-9]+\\.[0-9]+[A-Za-z0-9._-]*|@sha256:[0-9a-f]{64})$", var.litellm_image))
    error_message = "litellm_image must be pinned to a version tag (e.g. :v1.108.7) or digest; latest/main-latest and other moving tags are rejected."
  }

  validation {
    condition     = var.egress_mode != "endpoints" || can(regex("^[0-9]{12}\\.dkr\\.ecr\\.", var.litellm_image))
    error_message = "egress_mode = endpoints has no route to ghcr.io: mirror the image to ECR (pull-through cache) and use the ECR reference."
  }
}

variable "gateway_url" {
  description = "https URL clients use to reach the gateway (the DNS name on the certificate, pointed at alb_dns_name). Only reported in the github_actions_secrets output; null leaves it out."
  type        = string
  default     = null

  validation {
    condition     = var.gateway_url == null || can(regex("^https://[a-z0-9.-]+(:[0-9]+)?$", coalesce(var.gateway_url, "https://x")))
    error_message = "gateway_url must be an https:// URL without a path, e.g. https://llm.example.com."
  }
}

variable "certificate_arn" {
  description = "ACM certificate ARN (ap-south-1) for the HTTPS listener."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>)."
  }
}

# ------------------------------------------------------------------ network
variable "vpc_cidr" {
  description = "VPC CIDR."
  type        = string
  default     = "10.40.0.0/16"
}

variable "azs" {
  description = "Two availability zones."
  type        = list(string)
  default     = ["ap-south-1a", "ap-south-1b"]
}

variable "egress_mode" {
  description = "\"nat\" (default, cheapest that keeps tasks private and can pull from ghcr.io) or \"endpoints\". See docs/adr/0004-egress-design.md."
  type        = string
  default     = "nat"

  validation {
    condition     = contains(["nat", "endpoints"], var.egress_mode)
    error_message = "egress_mode must be \"nat\" or \"endpoints\"."
  }
}

variable "nat_gateway_per_az" {
  description = "One NAT gateway per AZ instead of a single shared one."
  type        = bool
  default     = false
}

variable "alb_ingress_cidrs" {
  description = "Client CIDRs allowed to reach the ALB."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "proxy_port" {
  description = "LiteLLM port inside the task."
  type        = number
  default     = 4000

  validation {
    condition     = var.proxy_port > 1024 && var.proxy_port < 65536
    error_message = "proxy_port must be between 1025 and 65535."
  }
}

# ------------------------------------------------------------------ secrets
variable "secret_name_prefix" {
  description = "Prefix of gateway secret names."
  type        = string
  default     = "llm-gateway/"
}

variable "user_secret_prefix" {
  description = "Prefix of per-user virtual-key secrets written by the reconciler (<prefix><user_id>)."
  type        = string
  default     = "llm-gateway/users/"
}

# ------------------------------------------------------------------ database
variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"
}

variable "deletion_protection" {
  description = "Protect the stack from `terraform destroy`: RDS and ALB deletion protection, and S3 buckets that refuse to be deleted while they hold objects. Set false only to tear down (docs/runbook.md, \"Tear down\")."
  type        = bool
  default     = true
}

variable "chargeback_evidence_retention_days" {
  description = "Days each version of the monthly chargeback evidence is locked (S3 Object Lock, GOVERNANCE) and kept. Default 2922 (8 years), as long as India's Companies Act keeps books of account."
  type        = number
  default     = 2922

  validation {
    condition     = var.chargeback_evidence_retention_days >= 365 && var.chargeback_evidence_retention_days <= 3653 && floor(var.chargeback_evidence_retention_days) == var.chargeback_evidence_retention_days
    error_message = "chargeback_evidence_retention_days must be a whole number from 365 (a year of evidence) to 3653 (10 years)."
  }
}

variable "db_max_connections" {
  description = "Effective max_connections of the instance (db.t4g.micro default is ~80 after RDS overhead)."
  type        = number
  default     = 80

  validation {
    condition     = var.db_max_connections >= 20
    error_message = "db_max_connections must be at least 20."
  }
}

variable "db_reserved_connections" {
  description = "Connections held back for admins, RDS and superuser_reserved_connections."
  type        = number
  default     = 10

  validation {
    condition     = var.db_reserved_connections >= 3
    error_message = "Keep at least 3 connections in reserve."
  }
}

variable "reconciler_db_connections" {
  description = "Connections the reconciler run may cause (it talks to the admin API; budgeted conservatively)."
  type        = number
  default     = 5
}

variable "migration_db_connections" {
  description = "Connections of the one-off migration task."
  type        = number
  default     = 5
}

# ------------------------------------------------------------------ cache
variable "cache_enabled" {
  description = "Valkey for shared rate-limit counters across tasks (ADR 0003)."
  type        = bool
  default     = true
}

variable "cache_node_type" {
  description = "Valkey node type."
  type        = string
  default     = "cache.t4g.micro"
}

# ------------------------------------------------------------------ gateway
variable "gateway_paused" {
  description = "First deploy only: true keeps the service at 0 tasks until terraform/scripts/bootstrap-secrets has written the secrets and run db-bootstrap + migrate."
  type        = bool
  default     = false
}

variable "gateway_task_cpu" {
  description = "Task CPU units."
  type        = number
  default     = 1024
}

variable "gateway_task_memory" {
  description = "Task memory (MiB)."
  type        = number
  default     = 2048
}

variable "gateway_workers_per_task" {
  description = "LiteLLM worker processes per task."
  type        = number
  default     = 1

  validation {
    condition     = var.gateway_workers_per_task >= 1 && var.gateway_workers_per_task <= 8
    error_message = "gateway_workers_per_task must be between 1 and 8."
  }
}

variable "gateway_min_tasks" {
  description = "Minimum tasks (1 on-demand + the rest on Spot)."
  type        = number
  default     = 2
}

variable "gateway_deployment_maximum_percent" {
  description = "ECS deployment maximum percent."
  type        = number
  default     = 200
}

variable "gateway_max_tasks" {
  description = "Maximum tasks. Bounded by the PostgreSQL connection budget: ceil(max_tasks * max_percent/100) * workers * pool_limit + reconciler + migration <= db_max_connections - reserve."
  type        = number
  default     = 4

  validation {
    condition = (
      ceil(var.gateway_max_tasks * var.gateway_deployment_maximum_percent / 100) * var.gateway_workers_per_task * local.db_pool_limit
      + var.reconciler_db_connections + var.migration_db_connections
    ) <= var.db_max_connections - var.db_reserved_connections
    error_message = "Connection budget exceeded: ceil(gateway_max_tasks * gateway_deployment_maximum_percent/100) * gateway_workers_per_task * database_connection_pool_limit (gateway/config.yaml) + reconciler_db_connections + migration_db_connections must be <= db_max_connections - db_reserved_connections. Lower max tasks/workers or raise the DB size. See docs/architecture.md."
  }

  validation {
    condition     = var.gateway_max_tasks >= var.gateway_min_tasks
    error_message = "gateway_max_tasks must be >= gateway_min_tasks."
  }
}

# ------------------------------------------------------------------ ops
variable "alarm_emails" {
  description = "E-mail subscribers of the alarm topic."
  type        = list(string)
  default     = []
}

variable "monthly_budget_usd" {
  description = "Monthly AWS budget for the account (USD), Bedrock included. Null (the default): derived, infrastructure_monthly_usd plus the most the tiers of policies/tiers.yaml let budget_user_mix spend (each member's monthly budget and one request's overshoot); see the bedrock_ceiling_usd output and docs/architecture.md, \"Monthly cost\"."
  type        = number
  default     = null

  validation {
    condition     = var.monthly_budget_usd == null || coalesce(var.monthly_budget_usd, 1) > 0
    error_message = "monthly_budget_usd must be positive (or null to derive it from the tiers)."
  }
}

variable "budget_user_mix" {
  description = "How many users each tier of policies/tiers.yaml is budgeted for: the Bedrock ceiling the derived AWS budget allows. Every key must be a tier."
  type        = map(number)
  default     = { drafting = 50, coding = 40, architect = 10 }

  validation {
    condition     = alltrue([for n in values(var.budget_user_mix) : n >= 0 && floor(n) == n])
    error_message = "budget_user_mix counts users: whole numbers, at least 0."
  }
}

variable "infrastructure_monthly_usd" {
  description = "What the stack itself costs a month without Bedrock, at 100 users (docs/architecture.md, \"Monthly cost\"); part of the derived AWS budget."
  type        = number
  default     = 215

  validation {
    condition     = var.infrastructure_monthly_usd >= 0
    error_message = "infrastructure_monthly_usd must not be negative."
  }
}

variable "tiers_file_path" {
  description = "Path of policies/tiers.yaml (null = repository default)."
  type        = string
  default     = null
}

# ------------------------------------------------------------------ notifications
variable "notification_sender" {
  description = "Address key notices and budget alerts come from with GATEWAYCTL_NOTIFY=ses (the GATEWAYCTL_NOTIFY_FROM setting). Terraform creates its SES identity and lets the reconciler role send as exactly this address. Null: no SES identity and no SES permission (SMTP or no notifications)."
  type        = string
  default     = null

  validation {
    condition     = var.notification_sender == null || can(regex("^[^@\\s*]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$", coalesce(var.notification_sender, "x")))
    error_message = "notification_sender must be one e-mail address, without wildcards."
  }
}

variable "notification_sender_identity" {
  description = "The SES identity verified for notification_sender: the address itself (null; SES mails it a link to click) or its domain (verified through the DKIM records of the notification_sender_dkim_tokens output)."
  type        = string
  default     = null

  validation {
    condition     = var.notification_sender_identity == null || (var.notification_sender != null && (var.notification_sender_identity == var.notification_sender || endswith(coalesce(var.notification_sender, "x"), "@${coalesce(var.notification_sender_identity, "x")}")))
    error_message = "notification_sender_identity must be notification_sender or its domain."
  }
}

# ------------------------------------------------------------------ CI
variable "github_repository" {
  description = "owner/name of this GitOps repository (OIDC trust)."
  type        = string
  default     = "example-org/llm-gateway-gitops"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name without wildcards."
  }
}

variable "github_connection_arn" {
  description = "AWS CodeConnections connection to GitHub, created and authorised once per account in the console (docs/runbook.md, \"First deploy\"): the VPC runner (modules/github-runner) registers with GitHub through it."
  type        = string
}

variable "github_deploy_environment" {
  description = "GitHub environment that deploy.yml's jobs run in; its protection rules gate every deploy."
  type        = string
  default     = "production"
}

variable "permissions_boundary_arn" {
  description = "The project's permissions boundary (terraform/bootstrap output `permissions_boundary_arn`). Null: the policy <name>-boundary of this account."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM managed policy ARN."
  }
}

variable "github_oidc_provider_arn" {
  description = "The account's GitHub OIDC provider. Null: look up the one terraform/bootstrap created."
  type        = string
  default     = null
}

variable "break_glass_principal_arns" {
  description = "IAM role ARNs that may assume <name>-break-glass for an emergency revoke (docs/runbook.md), e.g. an Identity Center admin permission set's role; a trailing * only. Empty: no break-glass role, task or security-group rule."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for arn in var.break_glass_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]+\\*?$", arn))
    ])
    error_message = "break_glass_principal_arns must be IAM role ARNs (path allowed, a * only at the end of the name)."
  }
}

# ------------------------------------------------------------------ IAM Identity Center
variable "identity_center_instance_arn" {
  description = "IAM Identity Center instance whose users read their key (modules/identity-center: the gitops_user_id attribute mapping, the key-access permission set and its assignment). Empty: none of it is managed here. Set it only when this account manages the instance (the organization's management account or its delegated administrator)."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.identity_center_instance_arn == "" || can(regex("^arn:aws(-[a-z]{1,5}){0,3}:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$", var.identity_center_instance_arn))
    error_message = "identity_center_instance_arn must be empty or an Identity Center instance ARN (arn:aws:sso:::instance/ssoins-<16 characters>)."
  }
}

variable "identity_center_region" {
  description = "Home Region of the Identity Center instance, where its APIs answer (the instance's settings page shows it). Empty: aws_region."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.identity_center_region == "" || can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.identity_center_region))
    error_message = "identity_center_region must be empty or an AWS Region code such as eu-west-1."
  }
}

variable "identity_store_id" {
  description = "The instance's Identity Store (d-xxxxxxxxxx), which the nightly directory check reads (drift.yml, gatewayctl directory-check). Required with identity_center_instance_arn."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.identity_store_id == "" || can(regex("^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", var.identity_store_id))
    error_message = "identity_store_id must be an Identity Store id such as d-1234567890."
  }

  validation {
    condition     = (var.identity_store_id == "") == (var.identity_center_instance_arn == "")
    error_message = "identity_store_id and identity_center_instance_arn go together: set both or neither."
  }
}

variable "identity_center_group_id" {
  description = "Identity Store id of the employees' group: its members get the key-access permission set in this account, and the directory check compares them with users/. Required with identity_center_instance_arn."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.identity_center_group_id == "" || can(regex("^([0-9a-f]{10}-)?[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$", var.identity_center_group_id))
    error_message = "identity_center_group_id must be an Identity Store group id (a UUID, optionally prefixed with 10 hex digits and a hyphen)."
  }

  validation {
    condition     = (var.identity_center_group_id == "") == (var.identity_center_instance_arn == "")
    error_message = "identity_center_group_id and identity_center_instance_arn go together: set both or neither."
  }
}

variable "identity_center_user_id_attribute" {
  description = "Directory attribute that becomes each session's gitops_user_id tag; its value must equal the user's file name in users/ (the directory check reports users whose attribute differs)."
  type        = string
  default     = "$${path:userName}"
  nullable    = false

  # Identity Center takes only a ${path:...} reference here; a literal would give everyone the same tag.
  validation {
    condition     = can(regex("^[$][{]path:[^{}$\\s]+[}]$", var.identity_center_user_id_attribute))
    error_message = "identity_center_user_id_attribute must be a directory attribute reference such as $${path:userName}."
  }
}

variable "identity_center_session_duration" {
  description = "Session length of the key-access permission set (ISO 8601 hours, PT1H to PT12H)."
  type        = string
  default     = "PT1H"
  nullable    = false

  validation {
    condition     = can(regex("^PT([1-9]|1[0-2])H$", var.identity_center_session_duration))
    error_message = "identity_center_session_duration must be PT1H to PT12H."
  }
}

variable "bedrock_application_profiles" {
  description = "Create a Bedrock application inference profile per tier and model of policies/tiers.yaml, tagged with the tier for Cost Explorer, and let the task role invoke them (docs/adr/0009-application-inference-profiles.md). Off by default: the gateway's rendered config does not call them yet."
  type        = bool
  default     = false
  nullable    = false
}
