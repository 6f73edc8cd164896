variable "bucket" {
  description = "Bucket name. Set this or bucket_prefix."
  type        = string
  default     = null

  validation {
    condition     = var.bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.bucket, "xxx")))
    error_message = "bucket must be a valid S3 bucket name."
  }
}

variable "bucket_prefix" {
  description = "Prefix of a bucket name S3 completes with a unique suffix. Set this or bucket."
  type        = string
  default     = null

  validation {
    condition     = (var.bucket_prefix == null) != (var.bucket == null)
    error_message = "Set exactly one of bucket and bucket_prefix."
  }

  validation {
    condition     = var.bucket_prefix == null || can(regex("^[a-z0-9][a-z0-9.-]{0,35}$", coalesce(var.bucket_prefix, "x")))
    error_message = "bucket_prefix must be at most 37 lowercase letters, digits, dots or hyphens."
  }
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS (with an S3 Bucket Key). Null: SSE-S3 (AES256), which only an ALB access-log sink should use."
  type        = string
  default     = null
}

variable "lifecycle_rule_id" {
  description = "Id of the lifecycle rule that expires old versions (and objects, with expiration_days)."
  type        = string
  default     = "expire-noncurrent-versions"

  validation {
    condition     = length(var.lifecycle_rule_id) >= 1 && length(var.lifecycle_rule_id) <= 255
    error_message = "lifecycle_rule_id must be 1-255 characters."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days an overwritten or deleted object version is kept."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be >= 1."
  }
}

variable "expiration_days" {
  description = "Days after which current objects expire (log buckets). Null: objects are kept."
  type        = number
  default     = null

  validation {
    condition     = var.expiration_days == null || coalesce(var.expiration_days, 1) >= 1
    error_message = "expiration_days must be >= 1."
  }
}

variable "object_lock" {
  description = "S3 Object Lock default retention for every new object version: mode (GOVERNANCE: only a principal allowed s3:BypassGovernanceRetention may shorten or delete, which force_destroy uses; COMPLIANCE: nobody, not even the account root, until it ends) and days. Null: no Object Lock. Only on a new bucket."
  type = object({
    mode = string
    days = number
  })
  default = null

  validation {
    condition     = var.object_lock == null || contains(["GOVERNANCE", "COMPLIANCE"], try(var.object_lock.mode, ""))
    error_message = "object_lock.mode must be GOVERNANCE or COMPLIANCE."
  }

  validation {
    condition     = var.object_lock == null || (try(var.object_lock.days, 0) >= 1 && try(var.object_lock.days, 0) <= 36500 && floor(try(var.object_lock.days, 0)) == try(var.object_lock.days, 0))
    error_message = "object_lock.days must be a whole number of days from 1 to 36500."
  }

  validation {
    condition     = var.object_lock == null || try(var.object_lock.days, 0) <= var.noncurrent_version_expiration_days
    error_message = "object_lock.days must not exceed noncurrent_version_expiration_days: a replaced version is kept at least as long as it is locked."
  }
}

variable "access_log" {
  description = "Where S3 server access logs of this bucket go: target bucket (whose policy must already allow logging.s3.amazonaws.com) and key prefix. Null: no access logging."
  type = object({
    bucket = string
    prefix = string
  })
  default = null
}

variable "policy_statements" {
  description = "Further IAM policy statements (objects as in a policy document: Sid, Effect, Principal, Action, Resource, Condition), appended to the bucket policy after DenyInsecureTransport and the log-delivery statements."
  type        = any
  default     = []

  validation {
    condition     = can(length(var.policy_statements)) && alltrue([for s in var.policy_statements : can(s.Sid) && can(s.Effect)])
    error_message = "policy_statements must be a list of statements, each with a Sid and an Effect."
  }
}

variable "alb_access_log_prefix" {
  description = "Let the Region's Elastic Load Balancing account write ALB access logs under <prefix>/AWSLogs/<account>/. Null: no ALB may write. ALB log delivery requires SSE-S3 (kms_key_arn = null)."
  type        = string
  default     = null

  validation {
    condition     = var.alb_access_log_prefix == null || can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", coalesce(var.alb_access_log_prefix, "x")))
    error_message = "alb_access_log_prefix must be a key prefix without leading or trailing slash."
  }

  validation {
    condition     = var.alb_access_log_prefix == null || var.kms_key_arn == null
    error_message = "ALB access-log delivery supports only SSE-S3: leave kms_key_arn null on the ALB's log bucket."
  }
}

variable "server_access_log_delivery" {
  description = "Let S3's logging service write server access logs of source_bucket_arn (in this account) under <prefix>/. Null: it may not."
  type = object({
    prefix            = string
    source_bucket_arn = string
  })
  default = null
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with its objects (teardown only)."
  type        = bool
  default     = false
}

variable "prevent_destroy" {
  description = "Refuse any plan that destroys the bucket (Terraform's prevent_destroy); for buckets that must outlive every mistake, such as Terraform state. Excludes force_destroy."
  type        = bool
  default     = false

  validation {
    condition     = !(var.prevent_destroy && var.force_destroy)
    error_message = "prevent_destroy and force_destroy exclude each other."
  }
}

variable "tags" {
  description = "Tags of the bucket."
  type        = map(string)
  default     = {}
}
