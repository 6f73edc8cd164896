output "policy_arn" {
  description = "ARN of the employee key-access policy (attach it where employees sign in)."
  value       = aws_iam_policy.this.arn
}

output "policy_name" {
  description = "Name of the policy (an Identity Center customer managed policy reference uses it)."
  value       = aws_iam_policy.this.name
}

output "policy_json" {
  description = "The policy document, for review and for attaching elsewhere."
  value       = local.policy
}

output "owner_tag_key" {
  description = "Session tag each employee's principal must carry, with their gateway user id as the value."
  value       = var.owner_tag_key
}
