variable "name" {
  description = "Name prefix; also the KMS alias (alias/<name>)."
  type        = string
  nullable    = false
}

variable "rotation_period_in_days" {
  description = "Automatic key rotation period in days."
  type        = number
  default     = 365

  validation {
    condition     = var.rotation_period_in_days >= 90 && var.rotation_period_in_days <= 2560
    error_message = "rotation_period_in_days must be between 90 and 2560."
  }
}

variable "deletion_window_in_days" {
  description = "Waiting period before the key is deleted after destroy."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "user_key_secrets" {
  description = "Per-user key secrets this key encrypts (gatewayctl's, reconciler/live/keystore.py): their name prefix, the one role that writes them (no path), and the session tag naming each owner. When set, the key policy denies every use for them outside Secrets Manager, encryption to all but the writer, and decryption to all but the writer and the IAM Identity Center role whose session tag names the secret's owner. null: no such statements."
  type = object({
    secret_prefix   = string
    writer_role_arn = string
    owner_tag_key   = optional(string, "gitops_user_id")
  })
  default = null

  validation {
    condition = var.user_key_secrets == null || (
      can(regex("^[a-zA-Z0-9/_+=.@-]+/$", try(var.user_key_secrets.secret_prefix, ""))) &&
      can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[a-zA-Z0-9+=,.@_-]+$", try(var.user_key_secrets.writer_role_arn, ""))) &&
      can(regex("^[A-Za-z0-9_.:/=+@-]{1,128}$", try(var.user_key_secrets.owner_tag_key, "")))
    )
    error_message = "user_key_secrets needs a secret_prefix ending in / (Secrets Manager name characters, no wildcard), the writer's role ARN without a path or wildcard, and a tag key."
  }
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
