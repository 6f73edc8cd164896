variable "name" {
  description = "Name prefix of the IAM policy (the policy is <name>-employee-key-access)."
  type        = string
  nullable    = false
}

variable "user_secret_prefix" {
  description = "Name prefix of the per-user key secrets the reconciler writes (<prefix><user_id>); same value as the reconciler's."
  type        = string
  default     = "llm-gateway/users/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_+=.@-]+/$", var.user_secret_prefix)) && !strcontains(var.user_secret_prefix, "*")
    error_message = "user_secret_prefix must end with / and contain only Secrets Manager name characters."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the key secrets (Decrypt is granted only through Secrets Manager, for secrets under the prefix)."
  type        = string
  nullable    = false
}

variable "owner_tag_key" {
  description = "Tag that names a secret's owner; gatewayctl writes it (reconciler/live/keystore.py OWNER_TAG). The principal's session tag with the same key must carry the user's id."
  type        = string
  default     = "gitops_user_id"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.:/=+@-]{1,128}$", var.owner_tag_key)) && !startswith(lower(var.owner_tag_key), "aws:")
    error_message = "owner_tag_key must be a valid tag key (not aws:...)."
  }
}

variable "managed_by" {
  description = "Value of the managed-by tag gatewayctl puts on the secrets it writes; only such secrets are readable."
  type        = string
  default     = "llm-gateway-gitops"
}

variable "attach_to_role_names" {
  description = "IAM roles (for example the roles employees federate into) to attach the policy to."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for r in var.attach_to_role_names : can(regex("^[a-zA-Z0-9+=,.@_-]{1,64}$", r))])
    error_message = "attach_to_role_names must be IAM role names, not ARNs."
  }
}

variable "identity_center_permission_sets" {
  description = "IAM Identity Center permission sets to attach the policy to, as a customer managed policy reference (the policy must exist, by name, in every account the permission set is provisioned to; this module creates it in this account)."
  type = list(object({
    instance_arn       = string
    permission_set_arn = string
  }))
  default = []

  validation {
    condition = alltrue([for p in var.identity_center_permission_sets :
      can(regex("^arn:aws[a-z-]*:sso:::instance/", p.instance_arn)) && can(regex("^arn:aws[a-z-]*:sso:::permissionSet/", p.permission_set_arn))
    ])
    error_message = "identity_center_permission_sets need sso instance and permissionSet ARNs."
  }
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
