variable "name" {
  description = "IAM role name."
  type        = string
  nullable    = false
}

variable "description" {
  description = "IAM role description."
  type        = string
  default     = "GitHub Actions role"
}

variable "oidc_provider_arn" {
  description = "ARN of the account's token.actions.githubusercontent.com OIDC provider."
  type        = string
  nullable    = false
}

variable "github_repository" {
  description = "owner/name of the repository whose workflows may assume the role."
  type        = string
  nullable    = false
}

variable "trusted_jobs" {
  description = <<-EOT
    The workflow jobs that may assume the role. Each is matched on the OIDC subject
    repo:<repository>:<context>:job_workflow_ref:<repository>/.github/workflows/<workflow>@<ref>, where
    context is "environment:<name>" (a job with an environment), "pull_request", or "ref:refs/heads/<branch>",
    and ref is the ref the workflow file was read from: refs/heads/<branch>, or refs/pull/*/merge for pull
    requests (the only wildcard allowed).
  EOT
  type = list(object({
    workflow = string
    context  = string
    ref      = string
  }))

  validation {
    condition     = length(var.trusted_jobs) > 0
    error_message = "Name at least one trusted job."
  }

  validation {
    condition = alltrue([for j in var.trusted_jobs :
      can(regex("^[A-Za-z0-9._-]+\\.ya?ml$", j.workflow)) &&
      can(regex("^(environment:[A-Za-z0-9._-]+|pull_request|ref:refs/heads/[A-Za-z0-9._/-]+)$", j.context)) &&
      can(regex("^(refs/heads/[A-Za-z0-9._/-]+|refs/pull/\\*/merge)$", j.ref))
    ])
    error_message = "Each trusted job needs a workflow file name, a context (environment:<name>, pull_request or ref:refs/heads/<branch>) and a ref (refs/heads/<branch> or refs/pull/*/merge); no other wildcards."
  }
}

variable "inline_policies" {
  description = "Inline policies of the role: name => policy JSON."
  type        = map(string)
  default     = {}
}

variable "managed_policy_arns" {
  description = "Managed policies attached to the role."
  type        = list(string)
  default     = []
}

variable "permissions_boundary" {
  description = "ARN of the managed policy that caps the role's permissions (the project's boundary for roles environments/production creates). Null: none (the account bootstrap's own Terraform roles)."
  type        = string
  default     = null
}

variable "max_session_duration" {
  description = "Maximum session length in seconds."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be between 3600 and 43200 seconds."
  }
}

variable "tags" {
  description = "Tags of the role."
  type        = map(string)
  default     = {}
}
