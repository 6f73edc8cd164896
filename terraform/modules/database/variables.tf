variable "identifier" {
  description = "RDS instance identifier."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,50}$", var.identifier))
    error_message = "identifier must start with a letter and contain only lowercase letters, digits and hyphens."
  }
}

variable "engine_version" {
  description = "PostgreSQL engine version (major or major.minor)."
  type        = string
  default     = "17"

  validation {
    condition     = can(regex("^[0-9]{2}(\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must look like 17 or 17.6."
  }
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class must be an RDS class such as db.t4g.micro."
  }
}

variable "allocated_storage" {
  description = "Initial storage in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage >= 20
    error_message = "allocated_storage must be at least 20 GiB."
  }
}

variable "max_allocated_storage" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
  default     = 50

  validation {
    condition     = var.max_allocated_storage >= 20
    error_message = "max_allocated_storage must be at least 20 GiB."
  }
}

variable "database_name" {
  description = "Name of the LiteLLM database."
  type        = string
  default     = "litellm"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a lowercase PostgreSQL identifier."
  }
}

variable "master_username" {
  description = "Master user name (password is managed by RDS in Secrets Manager)."
  type        = string
  default     = "llmgw_admin"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.master_username)) && !contains(["postgres", "admin", "rdsadmin"], var.master_username)
    error_message = "master_username must be a lowercase identifier and not a reserved name."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the DB subnet group (two AZs)."
  type        = list(string)
  nullable    = false
}

variable "security_group_ids" {
  description = "Security groups attached to the instance."
  type        = list(string)
  nullable    = false
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for storage, the master secret and the app secret."
  type        = string
  nullable    = false
}

variable "backup_retention_days" {
  description = "Automated backup retention in days."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 7 and 35."
  }
}

variable "deletion_protection" {
  description = "Protect the instance against deletion."
  type        = bool
  default     = true
}

variable "secret_name_prefix" {
  description = "Prefix of the app-login secret name."
  type        = string
  default     = "llm-gateway/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_+=.@-]{1,200}$", var.secret_name_prefix))
    error_message = "secret_name_prefix may contain only Secrets Manager name characters."
  }
}

variable "secret_recovery_window_in_days" {
  description = "Recovery window of the app-login secret."
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
