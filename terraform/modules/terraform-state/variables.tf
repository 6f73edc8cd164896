variable "name" {
  description = "Name prefix: the KMS alias is alias/<name>-tfstate and the default bucket <name>-tfstate-<account id>."
  type        = string
}

variable "bucket_name" {
  description = "State bucket name. Null: <name>-tfstate-<account id>."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.bucket_name, "xxx")))
    error_message = "bucket_name must be a valid S3 bucket name."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days an overwritten state version is kept (how far back a state can be restored)."
  type        = number
  default     = 365

  validation {
    condition     = var.noncurrent_version_retention_days >= 30
    error_message = "Keep old state versions for at least 30 days."
  }
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
