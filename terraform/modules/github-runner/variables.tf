variable "name" {
  description = "CodeBuild project name; also in the runner label (runs-on: codebuild-<name>-<run_id>-<run_attempt>) and the build role (<name>-build)."
  type        = string
  nullable    = false
}

variable "github_repository" {
  description = "owner/repo whose workflow jobs the runner takes."
  type        = string
  nullable    = false
}

variable "github_connection_arn" {
  description = "AWS CodeConnections connection to GitHub (created and authorised once per account in the console; docs/runbook.md, \"First deploy\"). CodeBuild uses it to create the webhook and to register each runner."
  type        = string
  nullable    = false
}

variable "trusted_workflows" {
  description = "Names (the `name:` of the workflow file) of the workflows whose jobs may start a runner; a queued job of any other workflow starts nothing."
  type        = list(string)

  validation {
    condition     = length(var.trusted_workflows) > 0 && alltrue([for w in var.trusted_workflows : can(regex("^[A-Za-z0-9_ -]+$", w))])
    error_message = "trusted_workflows must be non-empty workflow names (letters, digits, space, _ and -)."
  }
}

variable "vpc_id" {
  description = "VPC the builds run in."
  type        = string
  nullable    = false
}

variable "subnet_ids" {
  description = "Private subnets of the builds (egress to GitHub through the NAT gateway)."
  type        = list(string)
  nullable    = false
}

variable "security_group_id" {
  description = "Security group of the builds: the only one the gateway tasks admit besides the ALB's (modules/security-groups runner_security_group_id)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the build log group."
  type        = string
}

variable "compute_type" {
  description = "CodeBuild compute type of a runner (gatewayctl needs little)."
  type        = string
  default     = "BUILD_GENERAL1_SMALL"

  validation {
    condition     = contains(["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE"], var.compute_type)
    error_message = "compute_type must be BUILD_GENERAL1_SMALL, _MEDIUM or _LARGE."
  }
}

variable "image" {
  description = "CodeBuild-managed Linux image of the runner: Ubuntu, so that actions/setup-python finds GitHub's Python builds for it."
  type        = string
  default     = "aws/codebuild/standard:7.0"

  validation {
    condition     = can(regex("^aws/codebuild/", var.image))
    error_message = "image must be a CodeBuild-managed image (aws/codebuild/...): no image from a registry this stack does not control."
  }
}

variable "build_timeout_minutes" {
  description = "Longest a runner lives; above the longest job's timeout-minutes (deploy's reconcile: 30)."
  type        = number
  default     = 60

  validation {
    condition     = var.build_timeout_minutes >= 5 && var.build_timeout_minutes <= 480
    error_message = "build_timeout_minutes must be between 5 and 480."
  }
}

variable "queued_timeout_minutes" {
  description = "How long a build may wait for capacity before CodeBuild drops it."
  type        = number
  default     = 60

  validation {
    condition     = var.queued_timeout_minutes >= 5 && var.queued_timeout_minutes <= 480
    error_message = "queued_timeout_minutes must be between 5 and 480."
  }
}

variable "concurrent_build_limit" {
  description = "Most runners at once (the admin jobs are serialised by their concurrency groups anyway)."
  type        = number
  default     = 4

  validation {
    condition     = var.concurrent_build_limit >= 1 && var.concurrent_build_limit <= 20
    error_message = "concurrent_build_limit must be between 1 and 20."
  }
}

variable "log_retention_days" {
  description = "Retention of the build logs."
  type        = number
  default     = 400

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value."
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
