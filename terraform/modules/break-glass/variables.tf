variable "name" {
  description = "Name prefix: the role is <name>-break-glass, the task family <name>-break-glass (terraform/bootstrap's boundary names both)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{1,32}$", var.name))
    error_message = "name must be 1-32 lowercase letters, digits or hyphens."
  }
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

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]+$", var.cluster_arn))
    error_message = "cluster_arn must be an ECS cluster ARN."
  }
}

variable "vpc_id" {
  description = "VPC of the gateway tasks."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123abcd."
  }
}

variable "subnet_ids" {
  description = "Private subnets the task runs in (they reach the NAT gateway)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0
    error_message = "subnet_ids must name at least one subnet."
  }
}

variable "tasks_security_group_id" {
  description = "Security group of the gateway tasks; it gains one rule admitting the break-glass task on the proxy port."
  type        = string

  validation {
    condition     = startswith(var.tasks_security_group_id, "sg-")
    error_message = "tasks_security_group_id must be a security group ID."
  }
}

variable "proxy_port" {
  description = "Port the LiteLLM proxy listens on."
  type        = number
  default     = 4000

  validation {
    condition     = var.proxy_port > 1024 && var.proxy_port < 65536
    error_message = "proxy_port must be an unprivileged port (1025-65535)."
  }
}

variable "admin_url" {
  description = "The tasks' private admin URL (modules/gateway-service admin_base_url), e.g. http://litellm.gateway.internal:4000."
  type        = string

  validation {
    condition     = can(regex("^https?://[a-z0-9.-]+(:[0-9]+)?$", var.admin_url))
    error_message = "admin_url must be a scheme, a host name and an optional port."
  }
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

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:", var.master_key_secret_arn))
    error_message = "master_key_secret_arn must be a Secrets Manager ARN."
  }
}

variable "kms_key_arn" {
  description = "KMS key the master key's secret is encrypted with."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "log_group_name" {
  description = "Log group the task writes to (the gateway's, stream prefix break-glass)."
  type        = string
}

variable "log_group_arn" {
  description = "ARN of that log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:logs:", var.log_group_arn))
    error_message = "log_group_arn must be a CloudWatch Logs log group ARN."
  }
}

variable "permissions_boundary" {
  description = "Permissions boundary both roles carry (terraform/bootstrap's <name>-boundary)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/", var.permissions_boundary))
    error_message = "permissions_boundary must be an IAM policy ARN."
  }
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
