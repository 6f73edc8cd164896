variable "name" {
  description = "Name prefix of the IAM roles."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9+=,.@_-]{1,40}$", var.name))
    error_message = "name must be a valid IAM role name prefix (max 40 chars)."
  }
}

variable "github_repository" {
  description = "GitHub repository allowed to assume the roles, as owner/name."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name without wildcards."
  }
}

variable "github_branch" {
  description = "Branch allowed to run the reconciler apply (used when github_environment is null)."
  type        = string
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]+$", var.github_branch))
    error_message = "github_branch must be a branch name without wildcards."
  }
}

variable "github_environment" {
  description = "GitHub environment the apply job runs in (OIDC sub becomes repo:<repo>:environment:<env>). Null = branch-based trust."
  type        = string
  default     = null

  validation {
    condition     = var.github_environment == null || can(regex("^[A-Za-z0-9._-]+$", coalesce(var.github_environment, "x")))
    error_message = "github_environment must be an environment name without wildcards."
  }
}

variable "create_oidc_provider" {
  description = "Create the GitHub OIDC provider (only one may exist per account)."
  type        = bool
  default     = true
}

variable "oidc_provider_arn" {
  description = "Existing GitHub OIDC provider ARN (when create_oidc_provider = false)."
  type        = string
  default     = null

  validation {
    condition     = var.oidc_provider_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", coalesce(var.oidc_provider_arn, "x")))
    error_message = "oidc_provider_arn must be the ARN of the token.actions.githubusercontent.com provider."
  }
}

variable "create_plan_role" {
  description = "Create the read-only role for pull-request plans."
  type        = bool
  default     = true
}

variable "master_key_secret_arn" {
  description = "LiteLLM master key secret the reconciler reads."
  type        = string
}

variable "user_secret_prefix" {
  description = "Name prefix of the per-user key secrets (<prefix><user_id>)."
  type        = string
  default     = "llm-gateway/users/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_+=.@-]+/$", var.user_secret_prefix)) && !strcontains(var.user_secret_prefix, "*")
    error_message = "user_secret_prefix must end with / and contain only Secrets Manager name characters."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the gateway secrets."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "notification_sender_identity_arn" {
  description = "SES identity (verified sender) the reconciler may send key notices from; null = no SES permission."
  type        = string
  default     = null

  validation {
    condition     = var.notification_sender_identity_arn == null || can(regex("^arn:aws[a-z-]*:ses:[a-z0-9-]+:[0-9]{12}:identity/[^*]+$", coalesce(var.notification_sender_identity_arn, "x")))
    error_message = "notification_sender_identity_arn must be an SES identity ARN without wildcards."
  }
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
