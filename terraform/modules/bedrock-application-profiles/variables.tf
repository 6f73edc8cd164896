variable "name" {
  description = "Name prefix: each profile is <name>-<key>."
  type        = string
  nullable    = false
}

variable "profiles" {
  description = "The profiles to create, by key (<tier>-<model alias>): the tier and model alias they are tagged with, and the ARN of the inference profile (or foundation model) they copy."
  type = map(object({
    tier        = string
    model_alias = string
    copy_from   = string
  }))
  nullable = false

  validation {
    condition = alltrue([for k, p in var.profiles :
      can(regex("^[a-z][a-z0-9-]{0,63}$", k)) &&
      can(regex("^arn:[a-z-]+:bedrock:[a-z0-9-]+:([0-9]{12})?:(inference-profile|foundation-model)/[a-z0-9.:-]+$", p.copy_from))
    ])
    error_message = "Each profile: a lower-case key, and copy_from the ARN of an inference profile or foundation model."
  }
}

variable "tags" {
  description = "Tags for every profile (cost-allocation tags once activated in Billing); Tier and ModelAlias are added."
  type        = map(string)
  default     = {}
}
