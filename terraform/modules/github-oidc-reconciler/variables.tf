variable "name" {
  description = "Name prefix of the IAM roles."
  type        = string
  nullable    = false
}

variable "github_repository" {
  description = "GitHub repository allowed to assume the roles, as owner/name."
  type        = string
  nullable    = false
}

variable "main_branch" {
  description = "Branch that deploys: deploy.yml and drift.yml run from it."
  type        = string
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]+$", var.main_branch))
    error_message = "main_branch must be a branch name without wildcards."
  }
}

variable "pr_plan_environment" {
  description = "GitHub environment of pr.yml's plan jobs. Give it required reviewers: a pull request's plan gets a role only after a reviewer approves the run (docs/runbook.md, \"First deploy\")."
  type        = string
  default     = "pr-plan"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.pr_plan_environment))
    error_message = "pr_plan_environment must be an environment name without wildcards."
  }
}

variable "drift_environment" {
  description = "GitHub environment of drift.yml's drift job (deployment branches: main only; no reviewers, the report is nightly)."
  type        = string
  default     = "drift"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.drift_environment))
    error_message = "drift_environment must be an environment name without wildcards."
  }
}

variable "directory_environment" {
  description = "GitHub environment of drift.yml's directory job (deployment branches: main only; no reviewers, the check is nightly). Its own, so the drift job's token cannot read the directory."
  type        = string
  default     = "directory"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.directory_environment))
    error_message = "directory_environment must be an environment name without wildcards."
  }
}

variable "directory" {
  description = "The Identity Store and the employees' group the nightly directory check reads (gatewayctl directory-check); null = no directory role."
  type = object({
    identity_store_id = string
    group_id          = string
  })
  default = null
}

variable "deploy_environment" {
  description = "GitHub environment of deploy.yml's jobs and rotate.yml's (its protection rules gate the apply)."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.deploy_environment))
    error_message = "deploy_environment must be an environment name without wildcards."
  }
}

variable "oidc_provider_arn" {
  description = "The account's GitHub OIDC provider (created by terraform/bootstrap)."
  type        = string
  nullable    = false
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

variable "plan_viewer_secret_name" {
  description = "Name of the secret holding the read-only plan-viewer key (gatewayctl --service-secret-prefix + gatewayctl-plan-viewer). Outside user_secret_prefix, so no per-user read policy can reach it."
  type        = string
  default     = "llm-gateway/service/gatewayctl-plan-viewer"

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_+=.@-]+$", var.plan_viewer_secret_name)) && !startswith(var.plan_viewer_secret_name, var.user_secret_prefix)
    error_message = "plan_viewer_secret_name must be a Secrets Manager name outside user_secret_prefix."
  }
}

variable "spend_reader_secret_name" {
  description = "Name of the secret holding the spend-reader key (gatewayctl --service-secret-prefix + gatewayctl-spend-reader), which the chargeback role reads. Outside user_secret_prefix."
  type        = string
  default     = "llm-gateway/service/gatewayctl-spend-reader"

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_+=.@-]+$", var.spend_reader_secret_name)) && !startswith(var.spend_reader_secret_name, var.user_secret_prefix)
    error_message = "spend_reader_secret_name must be a Secrets Manager name outside user_secret_prefix."
  }
}

variable "chargeback_prefix" {
  description = "Key prefix in the chargeback bucket the chargeback role may put objects under (no leading or trailing slash)."
  type        = string
  default     = "chargeback"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*$", var.chargeback_prefix))
    error_message = "chargeback_prefix must be lowercase path segments without wildcards or a leading or trailing slash."
  }
}

variable "create_chargeback_role" {
  description = "Create the chargeback role (chargeback.yml): reads the spend-reader key, puts evidence into chargeback_bucket_arn under chargeback_prefix."
  type        = bool
  default     = false

  validation {
    condition     = !var.create_chargeback_role || var.chargeback_bucket_arn != null
    error_message = "create_chargeback_role needs chargeback_bucket_arn."
  }
}

variable "chargeback_bucket_arn" {
  description = "ARN of the Object Lock bucket chargeback.yml (scripts/ci/monthly-chargeback) stores the monthly chargeback evidence in. The chargeback role may only put objects under chargeback_prefix there."
  type        = string
  default     = null

  validation {
    condition     = var.chargeback_bucket_arn == null || can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.chargeback_bucket_arn, "x")))
    error_message = "chargeback_bucket_arn must be the ARN of one S3 bucket (no object path, no wildcards)."
  }
}

variable "chargeback_kms_key_arn" {
  description = "KMS key the chargeback bucket encrypts objects with (SSE-KMS): the chargeback role may generate data keys with it through S3 only. Null: the bucket uses SSE-S3."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "KMS key encrypting the gateway secrets."
  type        = string
  nullable    = false
}

variable "notification_sender_identity_arn" {
  description = "SES identity (verified sender) the reconciler may send key notices from; null = no SES permission."
  type        = string
  default     = null
}

variable "notification_sender_address" {
  description = "The one From address the reconciler may send as through notification_sender_identity_arn (the condition key ses:FromAddress); null = any address of that identity."
  type        = string
  default     = null

  validation {
    condition     = var.notification_sender_address == null || !strcontains(coalesce(var.notification_sender_address, "x"), "*")
    error_message = "notification_sender_address must be one address, without wildcards."
  }
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "permissions_boundary" {
  description = "ARN of the project's permissions boundary (terraform/bootstrap's `permissions_boundary_arn`), set on every role this module creates: the Terraform apply role may only create or change roles that carry it."
  type        = string
  default     = null
}
