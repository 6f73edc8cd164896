variable "name" {
  description = "Name prefix: task definition families <name>-gateway, <name>-migrate, <name>-db-bootstrap log group /ecs/<name>, roles <name>-ecs-execution, <name>-ecs-task, <name>-db-bootstrap-execution."
  type        = string
  nullable    = false
}

variable "image" {
  description = "LiteLLM container image pinned by version tag, best with its digest alongside (ghcr.io/berriai/litellm-database:v1.108.7@sha256:<digest>): a tag can be re-pointed, a digest cannot. Moving tags are rejected. When it is in this account's ECR, the execution role may pull that repository (and only it)."
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

variable "config_bucket" {
  description = "Bucket the config is uploaded to (an s3-bucket module's id, so the upload waits for its encryption settings)."
  type        = string
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

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the config object, the log group and the secrets the roles decrypt."
  type        = string
  nullable    = false
}

variable "bedrock_model_ids" {
  description = "Bedrock model or inference-profile IDs LiteLLM may invoke (from policies/models.yaml)."
  type        = list(string)

  validation {
    condition     = length(var.bedrock_model_ids) > 0 && alltrue([for id in var.bedrock_model_ids : can(regex("^[a-z0-9-]+(\\.[a-z0-9-]+)+:[0-9]+$", id))])
    error_message = "bedrock_model_ids must be non-empty and look like global.anthropic.claude-haiku-4-5-20251001-v1:0 (no wildcards)."
  }
}

variable "inference_profile_regions" {
  description = "Per geographic inference-profile ID, the Regions it routes to (policies/bedrock-profiles.yaml): the task role may invoke the foundation model there only. An ID left out may reach the model in any Region, through its profile only."
  type        = map(list(string))
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for id, regions in var.inference_profile_regions : length(regions) > 0 && alltrue([for r in regions : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", r))])])
    error_message = "inference_profile_regions must map each profile ID to a non-empty list of Region names such as ap-south-1."
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
}

variable "task_cpu" {
  description = "Fargate task CPU units of the gateway and migrate tasks."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.task_cpu)
    error_message = "task_cpu must be a Fargate CPU size."
  }
}

variable "task_memory" {
  description = "Fargate task memory (MiB) of the gateway and migrate tasks."
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

variable "log_retention_days" {
  description = "Retention of the tasks' log group."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value."
  }
}

variable "tags" {
  description = "Tags applied to every resource, roles included."
  type        = map(string)
  default     = {}
}

variable "permissions_boundary" {
  description = "ARN of the project's permissions boundary (terraform/bootstrap's `permissions_boundary_arn`), set on every role this module creates: the Terraform apply role may only create or change roles that carry it."
  type        = string
  default     = null
}

variable "guardrails" {
  description = "Bedrock guardrails of the guarded tiers, by tier key (modules/bedrock-guardrails' output): the container gets GUARDRAIL_<TIER>_ID and _VERSION, and the task role may apply these and no other. {}: none."
  type = map(object({
    id      = string
    arn     = string
    version = string
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for k, g in var.guardrails : can(regex("^[a-z][a-z0-9-]{0,31}$", k)) && can(regex("^arn:[a-z-]+:bedrock:[a-z0-9-]+:[0-9]{12}:guardrail/[a-z0-9]+$", g.arn))])
    error_message = "guardrails: tier keys as in policies/tiers.yaml, each with a guardrail ARN (no wildcard)."
  }
}

variable "application_profiles" {
  description = "The tiers' Bedrock application inference profiles (modules/bedrock-application-profiles' output): the task role may invoke these, and the foundation models of the profile each copies through them. {}: none."
  type = map(object({
    arn       = string
    copy_from = string
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for p in values(var.application_profiles) : can(regex("^arn:[a-z-]+:bedrock:[a-z0-9-]+:[0-9]{12}:application-inference-profile/[a-z0-9]+$", p.arn))])
    error_message = "application_profiles: each an application inference profile ARN (no wildcard)."
  }
}
