variable "name" {
  description = "Name prefix for security groups."
  type        = string
  nullable    = false
}

variable "vpc_id" {
  description = "VPC in which the security groups are created."
  type        = string
  nullable    = false
}

variable "proxy_port" {
  description = "Port the LiteLLM proxy listens on inside the task."
  type        = number
  default     = 4000
}

variable "alb_ingress_cidrs" {
  description = "IPv4 CIDRs allowed to reach the ALB on 443/80. Default: the internet."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.alb_ingress_cidrs) > 0 && alltrue([for c in var.alb_ingress_cidrs : can(cidrnetmask(c))])
    error_message = "alb_ingress_cidrs must be a non-empty list of IPv4 CIDRs."
  }
}

variable "cache_enabled" {
  description = "Create the cache security group and the task -> cache rule."
  type        = bool
  default     = false
}

variable "cache_port" {
  description = "Cache (Valkey/Redis) port."
  type        = number
  default     = 6379

  validation {
    condition     = var.cache_port > 1024 && var.cache_port < 65536
    error_message = "cache_port must be between 1025 and 65535."
  }
}

variable "endpoints_enabled" {
  description = "Egress through VPC endpoints (creates the endpoint SG) instead of HTTPS to the internet via NAT."
  type        = bool
  default     = false
}

variable "s3_prefix_list_id" {
  description = "Prefix list ID of the S3 gateway endpoint; required when endpoints_enabled."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
