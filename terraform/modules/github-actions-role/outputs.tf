output "arn" {
  description = "Role ARN (known at plan time)."
  value       = local.arn
}

output "name" {
  description = "Role name."
  value       = aws_iam_role.this.name
}

output "subjects" {
  description = "OIDC subjects the role trusts."
  value       = local.subjects
}
