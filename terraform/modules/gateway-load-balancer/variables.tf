variable "name" {
  description = "Name prefix of the ALB (<name>-alb) and target group (<name>-tg), each cut to 32 characters."
  type        = string
  nullable    = false
}

variable "vpc_id" {
  description = "VPC of the target group."
  type        = string
}

variable "subnet_ids" {
  description = "Public subnets of the ALB (two AZs)."
  type        = list(string)
  nullable    = false
}

variable "security_group_id" {
  description = "Security group of the ALB."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate ARN for the HTTPS listener."
  type        = string
  nullable    = false
}

variable "target_port" {
  description = "Port the tasks listen on (LiteLLM's proxy port)."
  type        = number
  nullable    = false
}

variable "health_check_path" {
  description = "Path the target group checks on every task."
  type        = string
  default     = "/health/liveliness"

  validation {
    condition     = can(regex("^/[A-Za-z0-9/_.-]*$", var.health_check_path))
    error_message = "health_check_path must be an absolute path."
  }
}

variable "public_paths" {
  description = "Exact request paths of the model APIs that any client the ALB admits may call with a virtual key. Every other path gets 403 from every address."
  type        = list(string)
  default = [
    "/v1/chat/completions", "/chat/completions", "/v1/completions", "/completions",
    "/v1/embeddings", "/embeddings", "/v1/messages", "/v1/messages/count_tokens",
    "/v1/models", "/models", "/health/liveliness", "/health/readiness",
    # The OpenAI Responses API (client.responses.create, the Agents SDK, Codex CLI): creating a response
    # is the one call these clients make; LiteLLM answers it through Bedrock Converse.
    "/v1/responses", "/responses",
  ]

  validation {
    # Exact paths only: a wildcard such as /v1/* would also publish admin routes LiteLLM serves
    # under /v1 (/v1/access_group, /v1/mcp/server, /v1/agents, ...).
    condition     = length(var.public_paths) > 0 && alltrue([for p in var.public_paths : can(regex("^/[A-Za-z0-9/_.-]+$", p))])
    error_message = "public_paths must be exact paths (letters, digits, / _ . -): no wildcards, no query strings."
  }

  validation {
    condition     = alltrue([for p in var.public_paths : !can(regex("^/(key|user|team|budget|spend|global|ui|model|customer|organization|sso|config|credentials|access_group|v1/(access_group|agents|mcp|logs|model|tool|unified_access_group))(/|$)", p))])
    error_message = "public_paths must not contain LiteLLM admin routes."
  }

  validation {
    condition     = length(var.public_paths) <= 45
    error_message = "public_paths takes at most 45 paths (9 listener rules of 5)."
  }
}

variable "access_logs_bucket" {
  description = "Bucket receiving the ALB access logs; its policy must already let the Region's ELB account write under <access_logs_prefix>/AWSLogs/<account>/ (pass an output that is known only after the policy)."
  type        = string
}

variable "access_logs_prefix" {
  description = "Key prefix of the ALB access logs."
  type        = string
  default     = "alb"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.access_logs_prefix))
    error_message = "access_logs_prefix must be a key prefix without leading or trailing slash."
  }
}

variable "idle_timeout" {
  description = "ALB idle timeout (seconds); long enough for streamed completions."
  type        = number
  default     = 300

  validation {
    condition     = var.idle_timeout >= 60 && var.idle_timeout <= 4000
    error_message = "idle_timeout must be between 60 and 4000."
  }
}

variable "deregistration_delay" {
  description = "Target group deregistration delay (seconds); must be below the 120 s Spot warning."
  type        = number
  default     = 60

  validation {
    condition     = var.deregistration_delay >= 0 && var.deregistration_delay < 120
    error_message = "deregistration_delay must be below 120 seconds so draining finishes before a Spot task is reclaimed."
  }
}

variable "deletion_protection" {
  description = "Enable deletion protection on the ALB."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
