variable "name" {
  description = "Name prefix of the roles (<name>-ecs-execution, <name>-ecs-task, <name>-db-bootstrap-execution)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,24}$", var.name))
    error_message = "name must be 2-25 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "image" {
  description = "The gateway's container image. When it is in this account's ECR, the execution role may pull that repository (and only it)."
  type        = string
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

variable "gateway_secret_arns" {
  description = "Secrets the gateway's tasks are started with (master key, salt key, database login, cache password): all the execution role may read."
  type        = list(string)

  validation {
    condition     = length(var.gateway_secret_arns) > 0 && alltrue([for a in var.gateway_secret_arns : can(regex("^arn:aws[a-z-]*:secretsmanager:", a))])
    error_message = "gateway_secret_arns must be Secrets Manager ARNs."
  }
}

variable "db_master_secret_arn" {
  description = "RDS-managed master user secret (only the db-bootstrap task's execution role reads it)."
  type        = string
}

variable "db_app_secret_arn" {
  description = "Secret with the application DB login, which the db-bootstrap task creates in PostgreSQL."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the secrets and the config object."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "config_object_arn" {
  description = "ARN of the S3 object holding the LiteLLM config: the one object the task role may read."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[^/*]+/[^*]+$", var.config_object_arn))
    error_message = "config_object_arn must be the ARN of one S3 object (no wildcards)."
  }
}

variable "log_group_arn" {
  description = "Log group the tasks write to."
  type        = string
}

variable "tags" {
  description = "Tags applied to every role."
  type        = map(string)
  default     = {}
}

variable "permissions_boundary" {
  description = "ARN of the project's permissions boundary (terraform/bootstrap's `permissions_boundary_arn`), set on every role this module creates: the Terraform apply role may only create or change roles that carry it."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.permissions_boundary))
    error_message = "permissions_boundary must be an IAM managed policy ARN."
  }
}
