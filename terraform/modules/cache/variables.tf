variable "name" {
  description = "Replication group / subnet group / user group name."
  type        = string
  nullable    = false
}

variable "engine_version" {
  description = "Valkey engine version."
  type        = string
  default     = "8.0"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must look like 8.0."
  }
}

variable "node_type" {
  description = "Cache node type."
  type        = string
  default     = "cache.t4g.micro"

  validation {
    condition     = startswith(var.node_type, "cache.")
    error_message = "node_type must be an ElastiCache node type such as cache.t4g.micro."
  }
}

variable "num_cache_clusters" {
  description = "Number of nodes (1 = primary only; 2+ enables automatic failover)."
  type        = number
  default     = 1

  validation {
    condition     = var.num_cache_clusters >= 1 && var.num_cache_clusters <= 6
    error_message = "num_cache_clusters must be between 1 and 6."
  }
}

variable "port" {
  description = "Cache port."
  type        = number
  default     = 6379

  validation {
    condition     = var.port > 1024 && var.port < 65536
    error_message = "port must be between 1025 and 65535."
  }
}

variable "app_username" {
  description = "RBAC user name used by LiteLLM (REDIS_USERNAME)."
  type        = string
  default     = "llmgw-app"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.app_username)) && var.app_username != "default"
    error_message = "app_username must be a lowercase identifier other than \"default\"."
  }
}

variable "app_access_string" {
  description = "Valkey ACL of the application user."
  type        = string
  default     = "on ~* &* +@all -@dangerous"
}

variable "subnet_ids" {
  description = "Private subnets for the cache."
  type        = list(string)
  nullable    = false
}

variable "security_group_ids" {
  description = "Security groups attached to the cache."
  type        = list(string)
  nullable    = false
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for at-rest encryption and the auth secret."
  type        = string
  nullable    = false
}

variable "snapshot_retention_limit" {
  description = "Days of automatic snapshots (counters are ephemeral; 1 is plenty)."
  type        = number
  default     = 1

  validation {
    condition     = var.snapshot_retention_limit >= 1 && var.snapshot_retention_limit <= 35
    error_message = "snapshot_retention_limit must be between 1 and 35."
  }
}

variable "secret_name_prefix" {
  description = "Prefix of the auth secret name."
  type        = string
  default     = "llm-gateway/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_+=.@-]{1,200}$", var.secret_name_prefix))
    error_message = "secret_name_prefix may contain only Secrets Manager name characters."
  }
}

variable "secret_recovery_window_in_days" {
  description = "Recovery window of the auth secret."
  type        = number
  default     = 30

  validation {
    condition     = var.secret_recovery_window_in_days == 0 || (var.secret_recovery_window_in_days >= 7 && var.secret_recovery_window_in_days <= 30)
    error_message = "secret_recovery_window_in_days must be 0 or between 7 and 30."
  }
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
