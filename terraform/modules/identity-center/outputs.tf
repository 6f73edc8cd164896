output "permission_set_arn" {
  description = "ARN of the permission set that carries the key-access policy."
  value       = aws_ssoadmin_permission_set.this.arn
}

output "permission_set_name" {
  description = "Name of the permission set; its role in the account is AWSReservedSSO_<name>_<suffix>."
  value       = aws_ssoadmin_permission_set.this.name
}

output "session_tag_key" {
  description = "The access-control attribute every session of the instance carries."
  value       = var.session_tag_key
}

output "user_id_attribute" {
  description = "The directory attribute the session tag's value comes from."
  value       = var.user_id_attribute
}
