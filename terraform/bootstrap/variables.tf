variable "aws_region" {
  description = "AWS Region of the state bucket (the same as the gateway's)."
  type        = string
  default     = "ap-south-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS Region code such as ap-south-1."
  }
}

variable "name" {
  description = "Name prefix; must equal the production root's `name` (the roles here may only manage IAM roles named <name>-*)."
  type        = string
  default     = "llm-gateway"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,24}$", var.name))
    error_message = "name must be 2-25 lowercase letters, digits or hyphens."
  }
}

variable "state_bucket_name" {
  description = "State bucket name. Null: <name>-tfstate-<account id>."
  type        = string
  default     = null
}

variable "github_repository" {
  description = "owner/name of this GitOps repository: only its workflows may assume the Terraform roles."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name without wildcards."
  }
}

variable "main_branch" {
  description = "Branch that deploys."
  type        = string
  default     = "main"
}

variable "pr_plan_environment" {
  description = "GitHub environment of pr.yml's plan jobs (the Terraform plan role trusts it). Give it required reviewers: a pull request's plan gets a role only after a reviewer approves the run (docs/runbook.md, \"First deploy\")."
  type        = string
  default     = "pr-plan"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.pr_plan_environment))
    error_message = "pr_plan_environment must be an environment name without wildcards."
  }
}

variable "deploy_environment" {
  description = "GitHub environment of deploy.yml's jobs."
  type        = string
  default     = "production"
}

variable "create_github_oidc_provider" {
  description = "Create the account's token.actions.githubusercontent.com OIDC provider. False: one exists already (there can be only one per account) and is looked up."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
