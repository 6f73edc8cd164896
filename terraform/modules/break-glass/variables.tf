variable "name" {
  description = "Name prefix: the role is <name>-break-glass, the task family <name>-break-glass (terraform/bootstrap's boundary names both)."
  type        = string
  nullable    = false
}

variable "trusted_principal_arns" {
  description = "IAM role ARNs that may assume the break-glass role (e.g. an Identity Center admin permission set's role, arn:aws:iam::<account>:role/aws-reserved/sso.amazonaws.com/<region>/AWSReservedSSO_<set>_*). A trailing * only."
  type        = list(string)

  validation {
    condition = length(var.trusted_principal_arns) > 0 && alltrue([
      for arn in var.trusted_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]+\\*?$", arn))
    ])
    error_message = "trusted_principal_arns must be a non-empty list of IAM role ARNs (path allowed, a * only at the end of the name)."
  }
}

variable "cluster_arn" {
  description = "The gateway's ECS cluster, the only one the task may be run in."
  type        = string
  nullable    = false
}

variable "vpc_id" {
  description = "VPC of the gateway tasks."
  type        = string
  nullable    = false
}

variable "subnet_ids" {
  description = "Private subnets the task runs in (they reach the NAT gateway)."
  type        = list(string)
  nullable    = false
}

variable "tasks_security_group_id" {
  description = "Security group of the gateway tasks; it gains one rule admitting the break-glass task on the proxy port."
  type        = string
  nullable    = false
}

variable "proxy_port" {
  description = "Port the LiteLLM proxy listens on."
  type        = number
  default     = 4000
}

variable "admin_url" {
  description = "The tasks' private admin URL (modules/gateway-service admin_base_url), e.g. http://litellm.gateway.internal:4000."
  type        = string
  nullable    = false
}

variable "image" {
  description = "Container image the task runs: the gateway's LiteLLM image (it has python3)."
  type        = string

  validation {
    condition     = length(var.image) > 0
    error_message = "image must not be empty."
  }
}

variable "master_key_secret_arn" {
  description = "The LiteLLM master key's secret, the only secret the task's execution role reads."
  type        = string
  nullable    = false
}

variable "kms_key_arn" {
  description = "KMS key the master key's secret is encrypted with."
  type        = string
  nullable    = false
}

variable "log_group_name" {
  description = "Log group the task writes to (the gateway's, stream prefix break-glass)."
  type        = string
}

variable "log_group_arn" {
  description = "ARN of that log group."
  type        = string
  nullable    = false
}

variable "permissions_boundary" {
  description = "Permissions boundary both roles carry (terraform/bootstrap's <name>-boundary)."
  type        = string
  nullable    = false
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
