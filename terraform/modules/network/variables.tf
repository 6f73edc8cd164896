variable "name" {
  description = "Name prefix for network resources."
  type        = string
  nullable    = false
}

variable "cidr_block" {
  description = "IPv4 CIDR of the VPC (a /16 to /20; split into 16 equal subnets)."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.cidr_block)) && tonumber(split("/", var.cidr_block)[1]) <= 20
    error_message = "cidr_block must be a valid IPv4 CIDR of size /20 or larger."
  }
}

variable "azs" {
  description = "Availability zones (exactly two) for public and private subnets."
  type        = list(string)

  validation {
    condition     = length(var.azs) == 2 && length(distinct(var.azs)) == 2
    error_message = "Exactly two distinct availability zones are required."
  }
}

variable "egress_mode" {
  description = "How private tasks reach AWS APIs and the image registry: \"nat\" (NAT gateway) or \"endpoints\" (VPC interface endpoints only, image must be in ECR). See docs/adr/0004-egress-design.md."
  type        = string
  default     = "nat"

  validation {
    condition     = contains(["nat", "endpoints"], var.egress_mode)
    error_message = "egress_mode must be \"nat\" or \"endpoints\"."
  }
}

variable "nat_gateway_per_az" {
  description = "One NAT gateway per AZ (survives an AZ outage, doubles NAT cost) instead of one shared NAT gateway."
  type        = bool
  default     = false
}

variable "interface_endpoint_services" {
  description = "Interface endpoint service names (suffix after com.amazonaws.<region>.) created when egress_mode = \"endpoints\"."
  type        = list(string)
  default     = ["bedrock-runtime", "secretsmanager", "logs", "ecr.api", "ecr.dkr"]

  validation {
    condition     = alltrue([for s in var.interface_endpoint_services : can(regex("^[a-z0-9.-]+$", s))])
    error_message = "Endpoint service names must be lowercase, e.g. bedrock-runtime or ecr.dkr."
  }
}

variable "endpoint_security_group_ids" {
  description = "Security groups attached to interface endpoints (only used when egress_mode = \"endpoints\")."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key ARN for the flow-log log group."
  type        = string
  nullable    = false
}

variable "flow_log_retention_days" {
  description = "Retention of VPC flow logs in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a CloudWatch Logs retention value."
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
