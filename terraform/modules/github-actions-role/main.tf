data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  oidc_host = "token.actions.githubusercontent.com"

  # The repository's OIDC subject template must include job_workflow_ref (docs/runbook.md,
  # "GitHub OIDC subject"), so a role can name the workflow file and ref, not only the repository:
  #   repo:<owner>/<repo>:<context>:job_workflow_ref:<owner>/<repo>/.github/workflows/<file>@<ref>
  subjects = sort(distinct([
    for job in var.trusted_jobs :
    "repo:${var.github_repository}:${job.context}:job_workflow_ref:${var.github_repository}/.github/workflows/${job.workflow}@${job.ref}"
  ]))
  exact_subjects   = [for s in local.subjects : s if !strcontains(s, "*")]
  pattern_subjects = [for s in local.subjects : s if strcontains(s, "*")]

  # Known at plan time (unlike aws_iam_role.this.arn), so plans and the trust test can show it.
  arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/${var.name}"
}

locals {
  aud_condition = { "${local.oidc_host}:aud" = "sts.amazonaws.com" }
  trust_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      length(local.exact_subjects) == 0 ? [] : [{
        Sid       = "GitHubActionsJobs"
        Effect    = "Allow"
        Principal = { Federated = var.oidc_provider_arn }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = { StringEquals = merge(local.aud_condition, { "${local.oidc_host}:sub" = local.exact_subjects }) }
      }],
      length(local.pattern_subjects) == 0 ? [] : [{
        Sid       = "GitHubActionsPullRequests"
        Effect    = "Allow"
        Principal = { Federated = var.oidc_provider_arn }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = local.aud_condition
          StringLike   = { "${local.oidc_host}:sub" = local.pattern_subjects }
        }
      }],
    )
  })
}

resource "aws_iam_role" "this" {
  name                 = var.name
  description          = var.description
  max_session_duration = var.max_session_duration
  assume_role_policy   = local.trust_policy
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

resource "aws_iam_role_policy" "this" {
  for_each = var.inline_policies

  name   = each.key
  role   = aws_iam_role.this.id
  policy = each.value
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = toset(var.managed_policy_arns)

  role       = aws_iam_role.this.name
  policy_arn = each.value
}
