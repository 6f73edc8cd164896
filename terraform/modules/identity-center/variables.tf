variable "instance_arn" {
  description = "ARN of the IAM Identity Center instance (arn:aws:sso:::instance/ssoins-...)."
  type        = string
  nullable    = false
}

variable "group_id" {
  description = "Identity Store id of the group whose members may read their own key (the group the nightly directory check compares with users/)."
  type        = string
  nullable    = false
}

variable "inline_policy_json" {
  description = "The permission set's inline policy: the employee-key-access module's policy_json output."
  type        = string
  nullable    = false
}

variable "session_tag_key" {
  description = "Access-control attribute (session tag) the key-access policy matches: gatewayctl's owner tag (reconciler/live/keystore.py OWNER_TAG)."
  type        = string
  default     = "gitops_user_id"
  nullable    = false
}

variable "user_id_attribute" {
  description = "Directory attribute whose value becomes the session tag, as Identity Center writes it (the default: the user name). Its value must equal the user's file name in users/."
  type        = string
  default     = "$${path:userName}"
  nullable    = false
}

variable "other_access_control_attributes" {
  description = "Other access-control attributes of the instance (key => $${path:...} source): the instance has one attribute configuration, which this module owns."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "permission_set_name" {
  description = "Name of the permission set (what employees pick in the AWS access portal)."
  type        = string
  default     = "LLMGatewayKeyAccess"
  nullable    = false
}

variable "session_duration" {
  description = "How long a session of the permission set lasts (ISO 8601, PT1H to PT12H)."
  type        = string
  default     = "PT1H"
  nullable    = false
}

variable "tags" {
  description = "Tags applied to the permission set."
  type        = map(string)
  default     = {}
  nullable    = false
}
