variable "name" {
  description = "Name prefix: each guardrail is <name>-<tier>."
  type        = string
  nullable    = false
}

variable "guardrails" {
  description = "The `guardrail:` block of each guarded tier in policies/tiers.yaml, by tier key (schemas/tiers.schema.json says what each field means; `gatewayctl validate` has checked it)."
  type = map(object({
    pii = optional(map(string), {})
    denied_topics = optional(list(object({
      name       = string
      definition = string
      examples   = optional(list(string), [])
    })), [])
    content_filter_strength   = optional(string, "NONE")
    blocked_input_messaging   = string
    blocked_outputs_messaging = string
  }))
  nullable = false

  validation {
    condition = alltrue([for k, g in var.guardrails :
      can(regex("^[a-z][a-z0-9-]{0,31}$", k)) &&
      alltrue([for action in values(g.pii) : contains(["BLOCK", "ANONYMIZE"], action)]) &&
      contains(["NONE", "LOW", "MEDIUM", "HIGH"], g.content_filter_strength) &&
      (length(g.pii) > 0 || length(g.denied_topics) > 0 || g.content_filter_strength != "NONE")
    ])
    error_message = "Each guardrail: a tier key, pii actions BLOCK or ANONYMIZE, content_filter_strength NONE, LOW, MEDIUM or HIGH, and at least one policy."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key the guardrails are encrypted with (their messages, topic definitions and examples)."
  type        = string
  nullable    = false
}

variable "tags" {
  description = "Tags for every guardrail."
  type        = map(string)
  default     = {}
}
