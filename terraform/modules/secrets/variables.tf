variable "name_prefix" {
  description = "Prefix of the secret names, e.g. \"llm-gateway/\"."
  type        = string
  default     = "llm-gateway/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_+=.@-]{1,200}$", var.name_prefix))
    error_message = "name_prefix may contain only Secrets Manager name characters."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key encrypting the secrets."
  type        = string
  nullable    = false
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can be recovered."
  type        = number
  default     = 30

  validation {
    condition     = var.recovery_window_in_days == 0 || (var.recovery_window_in_days >= 7 && var.recovery_window_in_days <= 30)
    error_message = "recovery_window_in_days must be 0 or between 7 and 30."
  }
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
