variable "name" {
  description = "Name prefix of the gateway resources (cluster, service, buckets, roles)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,24}$", var.name))
    error_message = "name must be 2-25 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "image" {
  description = "LiteLLM container image pinned by version tag, best with its digest alongside (ghcr.io/berriai/litellm-database:v1.108.7@sha256:<digest>): a tag can be re-pointed, a digest cannot. Moving tags are rejected."
  type        = string

  validation {
    condition = (
      can(regex("^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64}|:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64})$", var.image)) &&
      !can(regex(":(latest|main-latest|main-stable|main|stable|nightly|dev)(@|$)", var.image))
    )
    error_message = "image must be a fully qualified reference pinned to a version tag or digest; latest, main-latest, main-stable and other moving tags are not allowed."
  }
}

variable "migration_image" {
  description = "Image for the one-off migrate task; defaults to image. Set it to the new version first during upgrades (expand, then roll)."
  type        = string
  default     = null

  validation {
    condition     = var.migration_image == null || !can(regex(":(latest|main-latest|main-stable|main|stable|nightly|dev)(@|$)", coalesce(var.migration_image, "x:1")))
    error_message = "migration_image must be pinned; moving tags are not allowed."
  }
}

variable "db_bootstrap_image" {
  description = "PostgreSQL client image for the one-off db-bootstrap task, pinned by version tag, best with its digest alongside (name:tag@sha256:<digest>)."
  type        = string
  default     = "public.ecr.aws/docker/library/postgres:17.6-alpine"

  validation {
    condition     = !can(regex(":(latest|alpine)(@|$)", var.db_bootstrap_image)) && can(regex(":[0-9]", var.db_bootstrap_image))
    error_message = "db_bootstrap_image must be pinned to a version tag."
  }
}

variable "config_file_path" {
  description = "Path of the LiteLLM proxy config (gateway/config.yaml) uploaded to S3."
  type        = string

  validation {
    condition     = fileexists(var.config_file_path)
    error_message = "config_file_path must point to an existing file."
  }
}

variable "config_object_key" {
  description = "S3 key of the uploaded config."
  type        = string
  default     = "litellm/config.yaml"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()/-]+\\.ya?ml$", var.config_object_key))
    error_message = "config_object_key must be a safe S3 key ending in .yaml or .yml."
  }
}

variable "bedrock_model_ids" {
  description = "Bedrock model or inference-profile IDs LiteLLM may invoke (from policies/models.yaml)."
  type        = list(string)

  validation {
    condition     = length(var.bedrock_model_ids) > 0 && alltrue([for id in var.bedrock_model_ids : can(regex("^[a-z0-9-]+(\\.[a-z0-9-]+)+:[0-9]+$", id))])
    error_message = "bedrock_model_ids must be non-empty and look like global.anthropic.claude-haiku-4-5-20251001-v1:0 (no wildcards)."
  }
}

variable "bedrock_mantle_project_id" {
  description = "bedrock-mantle project whose CountTokens the task role may call: LiteLLM's count_tokens retry sends no project, which Mantle bills to `default`."
  type        = string
  default     = "default"

  validation {
    condition     = can(regex("^(default|proj_[a-zA-Z0-9]+)$", var.bedrock_mantle_project_id))
    error_message = "bedrock_mantle_project_id must be default or a proj_... id."
  }
}

variable "vpc_id" {
  description = "VPC of the gateway."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets for the ALB (two AZs)."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "The ALB needs subnets in at least two AZs."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets for the tasks."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 1
    error_message = "At least one private subnet is required."
  }
}

variable "alb_security_group_id" {
  description = "Security group of the ALB."
  type        = string
}

variable "admin_ingress_cidrs" {
  description = "IPv4 CIDRs whose requests reach every path of LiteLLM, its admin API included: where the reconciler (gatewayctl plan/apply/drift) runs, e.g. the NAT gateway addresses of a runner in the VPC. They must also be admitted by the ALB security group. Empty (the default): the admin API answers 403 to every address. docs/adr/0006-admin-api-not-on-the-internet.md"
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.admin_ingress_cidrs : can(cidrnetmask(c)) && try(tonumber(split("/", c)[1]) >= 8, false)])
    error_message = "admin_ingress_cidrs must be IPv4 CIDRs of /8 or narrower; the admin API is never opened to the whole internet."
  }

  validation {
    condition     = length(var.admin_ingress_cidrs) <= 50
    error_message = "admin_ingress_cidrs takes at most 50 CIDRs (10 listener rules of 5)."
  }
}

variable "public_paths" {
  description = "Exact request paths of the model APIs that any client the ALB admits may call with a virtual key. Every other path is served only to admin_ingress_cidrs."
  type        = list(string)
  default = [
    "/v1/chat/completions", "/chat/completions", "/v1/completions", "/completions",
    "/v1/embeddings", "/embeddings", "/v1/messages", "/v1/messages/count_tokens",
    "/v1/models", "/models", "/health/liveliness", "/health/readiness",
  ]

  validation {
    # Exact paths only: a wildcard such as /v1/* would also publish admin routes LiteLLM serves
    # under /v1 (/v1/access_group, /v1/mcp/server, /v1/agents, ...).
    condition     = length(var.public_paths) > 0 && alltrue([for p in var.public_paths : can(regex("^/[A-Za-z0-9/_.-]+$", p))])
    error_message = "public_paths must be exact paths (letters, digits, / _ . -): no wildcards, no query strings."
  }

  validation {
    condition     = alltrue([for p in var.public_paths : !can(regex("^/(key|user|team|budget|spend|global|ui|model|customer|organization|sso|config|credentials|access_group|v1/(access_group|agents|mcp|logs|model|tool|unified_access_group))(/|$)", p))])
    error_message = "public_paths must not contain LiteLLM admin routes."
  }

  validation {
    condition     = length(var.public_paths) <= 45
    error_message = "public_paths takes at most 45 paths (9 listener rules of 5)."
  }
}

variable "tasks_security_group_id" {
  description = "Security group of the tasks."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate ARN for the HTTPS listener."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>)."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key (logs, config bucket, secrets)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "master_key_secret_arn" {
  description = "Secret with the LiteLLM master key."
  type        = string
}

variable "salt_key_secret_arn" {
  description = "Secret with the LiteLLM salt key."
  type        = string
}

variable "db_app_secret_arn" {
  description = "Secret with the application DB login (keys username, password, DATABASE_URL)."
  type        = string
}

variable "db_master_secret_arn" {
  description = "RDS-managed master user secret (only the db-bootstrap task reads it)."
  type        = string
}

variable "db_address" {
  description = "Database host name."
  type        = string
}

variable "db_port" {
  description = "Database port."
  type        = number
  default     = 5432
}

variable "db_name" {
  description = "Database name."
  type        = string
  default     = "litellm"
}

variable "cache" {
  description = "Valkey connection (null = no cache). Password comes from auth_secret_arn (key: password)."
  type = object({
    host            = string
    port            = number
    username        = string
    auth_secret_arn = string
  })
  default = null
}

variable "proxy_port" {
  description = "Port LiteLLM listens on."
  type        = number
  default     = 4000

  validation {
    condition     = var.proxy_port > 1024 && var.proxy_port < 65536
    error_message = "proxy_port must be between 1025 and 65535."
  }
}

variable "task_cpu" {
  description = "Fargate task CPU units."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.task_cpu)
    error_message = "task_cpu must be a Fargate CPU size."
  }
}

variable "task_memory" {
  description = "Fargate task memory (MiB)."
  type        = number
  default     = 2048

  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 122880
    error_message = "task_memory must be between 512 and 122880 MiB."
  }
}

variable "workers_per_task" {
  description = "LiteLLM worker processes per task (--num_workers)."
  type        = number
  default     = 1

  validation {
    condition     = var.workers_per_task >= 1 && var.workers_per_task <= 8
    error_message = "workers_per_task must be between 1 and 8."
  }
}

variable "paused" {
  description = "Keep the service at 0 tasks (first deploy: run bootstrap-secrets, db-bootstrap and migrate before unpausing)."
  type        = bool
  default     = false
}

variable "min_tasks" {
  description = "Minimum number of tasks (first one is on-demand FARGATE)."
  type        = number
  default     = 2

  validation {
    condition     = var.min_tasks >= 1
    error_message = "min_tasks must be at least 1."
  }
}

variable "max_tasks" {
  description = "Maximum number of tasks under autoscaling."
  type        = number
  default     = 4

  validation {
    condition     = var.max_tasks >= var.min_tasks
    error_message = "max_tasks must be >= min_tasks."
  }
}

variable "deployment_maximum_percent" {
  description = "ECS deployment maximum percent (peak task count during a rollout)."
  type        = number
  default     = 200

  validation {
    condition     = var.deployment_maximum_percent >= 100 && var.deployment_maximum_percent <= 200
    error_message = "deployment_maximum_percent must be between 100 and 200."
  }
}

variable "db_pool_limit" {
  description = "database_connection_pool_limit in gateway/config.yaml (per worker)."
  type        = number
  default     = 5

  validation {
    condition     = var.db_pool_limit >= 1
    error_message = "db_pool_limit must be >= 1."
  }
}

variable "db_max_connections" {
  description = "max_connections of the database instance."
  type        = number
  default     = 80
}

variable "db_reserved_connections" {
  description = "Connections kept free for admins, RDS and superuser_reserved_connections."
  type        = number
  default     = 10
}

variable "extra_db_connections" {
  description = "Connections used outside the service (reconciler + migration task)."
  type        = number
  default     = 10
}

variable "stop_timeout" {
  description = "Seconds between SIGTERM and SIGKILL (Fargate max 120; Spot warning is 120)."
  type        = number
  default     = 110

  validation {
    condition     = var.stop_timeout >= 30 && var.stop_timeout <= 120
    error_message = "stop_timeout must be between 30 and 120 seconds (Fargate limit)."
  }
}

variable "deregistration_delay" {
  description = "Target group deregistration delay (seconds); must be below the 120 s Spot warning."
  type        = number
  default     = 60

  validation {
    condition     = var.deregistration_delay >= 0 && var.deregistration_delay < 120
    error_message = "deregistration_delay must be below 120 seconds so draining finishes before a Spot task is reclaimed."
  }
}

variable "cpu_target_percent" {
  description = "Target average CPU utilisation for autoscaling."
  type        = number
  default     = 60

  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "cpu_target_percent must be between 10 and 90."
  }
}

variable "requests_per_target" {
  description = "Target ALBRequestCountPerTarget (requests per task per minute) for autoscaling."
  type        = number
  default     = 300

  validation {
    condition     = var.requests_per_target > 0
    error_message = "requests_per_target must be positive."
  }
}

variable "alb_idle_timeout" {
  description = "ALB idle timeout (seconds); long enough for streamed completions."
  type        = number
  default     = 300

  validation {
    condition     = var.alb_idle_timeout >= 60 && var.alb_idle_timeout <= 4000
    error_message = "alb_idle_timeout must be between 60 and 4000."
  }
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` delete the config and log buckets with their objects (teardown only)."
  type        = bool
  default     = false
}

variable "alb_deletion_protection" {
  description = "Enable deletion protection on the ALB."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Retention of the gateway log group."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value."
  }
}

variable "access_log_retention_days" {
  description = "Days ALB and S3 access logs are kept."
  type        = number
  default     = 90

  validation {
    condition     = var.access_log_retention_days >= 1
    error_message = "access_log_retention_days must be >= 1."
  }
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
