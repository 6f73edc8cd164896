# Everything that must exist before the first `terraform apply` of environments/production can run
# from CI: the state bucket and its key, the account's GitHub OIDC provider, and the two roles
# Terraform runs as. Applied by hand once per account (terraform/scripts/bootstrap-account).

locals {
  tags = merge(var.tags, {
    Project     = "llm-gateway-gitops"
    Environment = "bootstrap"
    ManagedBy   = "terraform"
  })

  oidc_url = "https://token.actions.githubusercontent.com"
  # Built from the provider's URL rather than its arn attribute: known at plan time (so a plan shows
  # the roles' trust policies), and still a reference, so the roles are created after the provider.
  oidc_provider_arn = (var.create_github_oidc_provider
    ? "${local.iam_arn}:oidc-provider/${trimprefix(aws_iam_openid_connect_provider.github[0].url, "https://")}"
  : data.aws_iam_openid_connect_provider.github[0].arn)
  main_ref = "refs/heads/${var.main_branch}"

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  iam_arn    = "arn:${local.partition}:iam::${local.account_id}"
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

module "state" {
  source = "../modules/terraform-state"

  name        = var.name
  bucket_name = var.state_bucket_name
  tags        = local.tags
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 1 : 0

  url            = local.oidc_url
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 0 : 1
  url   = local.oidc_url
}

# ------------------------------------------------------------------ terraform apply (deploy.yml)
module "terraform_apply_role" {
  source = "../modules/github-actions-role"

  name              = "${var.name}-terraform-apply"
  description       = "terraform apply of environments/production from deploy.yml on ${var.main_branch}"
  oidc_provider_arn = local.oidc_provider_arn
  github_repository = var.github_repository
  trusted_jobs = [
    { workflow = "deploy.yml", context = "environment:${var.deploy_environment}", ref = local.main_ref },
  ]
  # The services the stack uses (policies.tf); IAM only for the stack's own roles, within the boundary (below).
  managed_policy_arns = [
    "${local.iam_arn}:policy/${aws_iam_policy.terraform_apply.name}",
    "${local.iam_arn}:policy/${aws_iam_policy.terraform_apply_pipeline.name}",
  ]
  inline_policies = {
    manage-stack-iam  = local.stack_iam_policy
    protect-bootstrap = local.protect_bootstrap_policy
    read-write-state  = local.state_read_write_policy
  }
  tags = local.tags
}

locals {
  stack_iam_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # Creating a role, or giving one permissions, only when the role carries the boundary: no role
        # the apply role makes can do more than the boundary allows.
        Sid       = "GrantToStackRolesOnlyWithinTheBoundary"
        Effect    = "Allow"
        Action    = ["iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary", "iam:DeleteRolePolicy", "iam:DetachRolePolicy"]
        Resource  = "${local.iam_arn}:role/${var.name}-*"
        Condition = { StringEquals = { "iam:PermissionsBoundary" = local.permissions_boundary_arn } }
      },
      {
        # ... and attaching only the stack's own managed policies (no AWS-managed one).
        Sid      = "AttachStackPoliciesToStackRolesWithinTheBoundary"
        Effect   = "Allow"
        Action   = "iam:AttachRolePolicy"
        Resource = "${local.iam_arn}:role/${var.name}-*"
        Condition = {
          StringEquals = { "iam:PermissionsBoundary" = local.permissions_boundary_arn }
          ArnLike      = { "iam:PolicyARN" = "${local.iam_arn}:policy/${var.name}-*" }
        }
      },
      {
        # Actions that take no iam:PermissionsBoundary condition and grant nothing.
        Sid    = "ReadTagAndRemoveStackRoles"
        Effect = "Allow"
        Action = [
          "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
          "iam:ListInstanceProfilesForRole", "iam:ListRoleTags", "iam:TagRole", "iam:UntagRole", "iam:UpdateRole",
          "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy", "iam:DeleteRole",
        ]
        Resource = "${local.iam_arn}:role/${var.name}-*"
      },
      {
        # The stack's customer-managed policies (the employee key-access policy).
        Sid    = "ManageStackPolicies"
        Effect = "Allow"
        Action = [
          "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
          "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions", "iam:ListEntitiesForPolicy",
          "iam:TagPolicy", "iam:UntagPolicy", "iam:ListPolicyTags",
        ]
        Resource = "${local.iam_arn}:policy/${var.name}-*"
      },
      {
        # ECS tasks, VPC flow logs, the VPC runner's CodeBuild project (modules/github-runner).
        Sid       = "PassStackRolesToTheirServices"
        Effect    = "Allow"
        Action    = "iam:PassRole"
        Resource  = "${local.iam_arn}:role/${var.name}-*"
        Condition = { StringEquals = { "iam:PassedToService" = ["ecs-tasks.amazonaws.com", "vpc-flow-logs.amazonaws.com", "codebuild.amazonaws.com"] } }
      },
      {
        Sid      = "ServiceLinkedRolesOfTheStacksServices"
        Effect   = "Allow"
        Action   = "iam:CreateServiceLinkedRole"
        Resource = "${local.iam_arn}:role/aws-service-role/*"
        Condition = { StringEquals = { "iam:AWSServiceName" = [
          "ecs.amazonaws.com",
          "ecs.application-autoscaling.amazonaws.com",
          "elasticloadbalancing.amazonaws.com",
          "rds.amazonaws.com",
          "elasticache.amazonaws.com",
        ] } }
      },
      {
        # Read only, and without resource-level scoping in IAM (the root looks both up).
        Sid      = "FindTheGitHubOidcProviderAndTheBoundary"
        Effect   = "Allow"
        Action   = ["iam:GetOpenIDConnectProvider", "iam:ListOpenIDConnectProviders", "iam:ListPolicies"]
        Resource = "*"
      },
    ]
  })

  # The apply role must not be able to widen its own trust, take over the plan role, loosen the
  # boundary or its own policies, become a role it manages, read a secret's value, or weaken the
  # state it depends on. Deny wins over every allow.
  protect_bootstrap_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "DenyChangingTheTerraformRoles"
        Effect = "Deny"
        Action = [
          "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
          "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:DeleteRole", "iam:PutRolePermissionsBoundary",
          "iam:DeleteRolePermissionsBoundary", "iam:TagRole", "iam:UntagRole",
        ]
        Resource = "${local.iam_arn}:role/${var.name}-terraform-*"
      },
      {
        Sid      = "DenyChangingTheBoundaryAndTheTerraformPolicies"
        Effect   = "Deny"
        Action   = ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:TagPolicy", "iam:UntagPolicy"]
        Resource = local.terraform_policy_arns
      },
      {
        Sid      = "DenyRemovingAnyBoundary"
        Effect   = "Deny"
        Action   = ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"]
        Resource = "*"
      },
      {
        Sid       = "DenyAttachingAwsManagedPolicies"
        Effect    = "Deny"
        Action    = ["iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy"]
        Resource  = "*"
        Condition = { ArnLike = { "iam:PolicyARN" = "arn:${local.partition}:iam::aws:policy/*" } }
      },
      {
        Sid      = "DenyBecomingAStackRole"
        Effect   = "Deny"
        Action   = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
        Resource = "${local.iam_arn}:role/${var.name}-*"
      },
      {
        Sid      = "DenyReadingSecretValues"
        Effect   = "Deny"
        Action   = ["secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue"]
        Resource = "*"
      },
      {
        Sid    = "DenyChangingTheOidcProvider"
        Effect = "Deny"
        Action = [
          "iam:DeleteOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint",
          "iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
          "iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider",
        ]
        Resource = local.oidc_provider_arn
      },
      {
        Sid    = "DenyWeakeningTheStateBucket"
        Effect = "Deny"
        Action = [
          "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketPolicy", "s3:PutBucketVersioning",
          "s3:PutLifecycleConfiguration", "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock",
          "s3:PutBucketOwnershipControls", "s3:DeleteObjectVersion",
        ]
        Resource = [module.state.bucket_arn, "${module.state.bucket_arn}/*"]
      },
      {
        Sid      = "DenyDisablingTheStateKey"
        Effect   = "Deny"
        Action   = ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:DisableKeyRotation"]
        Resource = module.state.kms_key_arn
      },
    ]
  })

  state_read_write_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "ListStateBucket", Effect = "Allow", Action = "s3:ListBucket", Resource = module.state.bucket_arn },
      {
        Sid      = "ReadWriteStateAndLock"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        Resource = "${module.state.bucket_arn}/*"
      },
      {
        Sid      = "EncryptState"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
        Resource = module.state.kms_key_arn
      },
    ]
  })

  state_read_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadState"
        Effect   = "Allow"
        Action   = ["s3:ListBucket", "s3:GetObject"]
        Resource = [module.state.bucket_arn, "${module.state.bucket_arn}/*"]
      },
      { Sid = "DecryptState", Effect = "Allow", Action = "kms:Decrypt", Resource = module.state.kms_key_arn },
    ]
  })
}

# ------------------------------------------------------------------ terraform plan (pr.yml)
# Code from the pull request runs in this job, so the role only reads: the configuration of the
# stack's resources (policies.tf, no secret values, objects or log events) plus decrypting the state.
# The plan runs with -lock=false, so it needs no write to the bucket. Only in
# the pr-plan environment: a reviewer approves each run before it gets a token.
module "terraform_plan_role" {
  source = "../modules/github-actions-role"

  name              = "${var.name}-terraform-plan"
  description       = "Read-only terraform plan of environments/production for pull requests"
  oidc_provider_arn = local.oidc_provider_arn
  github_repository = var.github_repository
  trusted_jobs = [
    { workflow = "pr.yml", context = "environment:${var.pr_plan_environment}", ref = "refs/pull/*/merge" },
  ]
  managed_policy_arns = ["${local.iam_arn}:policy/${aws_iam_policy.terraform_plan.name}"]
  inline_policies = {
    read-state = local.state_read_policy
  }
  tags = local.tags
}
