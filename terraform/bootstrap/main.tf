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
  # Power user for the services the stack uses; IAM only for the stack's own roles (below).
  managed_policy_arns = ["arn:${local.partition}:iam::aws:policy/PowerUserAccess"]
  inline_policies = {
    manage-stack-iam  = data.aws_iam_policy_document.stack_iam.json
    protect-bootstrap = data.aws_iam_policy_document.protect_bootstrap.json
    read-write-state  = data.aws_iam_policy_document.state_read_write.json
  }
  tags = local.tags
}

data "aws_iam_policy_document" "stack_iam" {
  statement {
    sid       = "ManageStackRolesAndTheirPolicies"
    actions   = ["iam:*"]
    resources = ["${local.iam_arn}:role/${var.name}-*", "${local.iam_arn}:policy/${var.name}-*"]
  }

  statement {
    sid       = "PassStackRolesToEcsTasks"
    actions   = ["iam:PassRole"]
    resources = ["${local.iam_arn}:role/${var.name}-*"]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "ServiceLinkedRolesOfTheStacksServices"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["${local.iam_arn}:role/aws-service-role/*"]
    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values = [
        "ecs.amazonaws.com",
        "ecs.application-autoscaling.amazonaws.com",
        "elasticloadbalancing.amazonaws.com",
        "rds.amazonaws.com",
        "elasticache.amazonaws.com",
      ]
    }
  }

  statement {
    sid       = "ReadTheGitHubOidcProvider"
    actions   = ["iam:GetOpenIDConnectProvider", "iam:ListOpenIDConnectProviders"]
    resources = ["*"]
  }
}

# The apply role must not be able to widen its own trust, take over the plan role, or delete the
# state it depends on. Deny wins over PowerUserAccess and the allow above.
data "aws_iam_policy_document" "protect_bootstrap" {
  statement {
    sid    = "DenyChangingTheTerraformRoles"
    effect = "Deny"
    actions = [
      "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
      "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:DeleteRole", "iam:PutRolePermissionsBoundary",
      "iam:DeleteRolePermissionsBoundary", "iam:TagRole", "iam:UntagRole",
    ]
    resources = ["${local.iam_arn}:role/${var.name}-terraform-*"]
  }

  statement {
    sid    = "DenyChangingTheOidcProvider"
    effect = "Deny"
    actions = [
      "iam:DeleteOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint",
      "iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
      "iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider",
    ]
    resources = [local.oidc_provider_arn]
  }

  statement {
    sid    = "DenyWeakeningTheStateBucket"
    effect = "Deny"
    actions = [
      "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketPolicy", "s3:PutBucketVersioning",
      "s3:PutLifecycleConfiguration", "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock",
      "s3:PutBucketOwnershipControls", "s3:DeleteObjectVersion",
    ]
    resources = [module.state.bucket_arn, "${module.state.bucket_arn}/*"]
  }

  statement {
    sid       = "DenyDisablingTheStateKey"
    effect    = "Deny"
    actions   = ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:DisableKeyRotation"]
    resources = [module.state.kms_key_arn]
  }
}

data "aws_iam_policy_document" "state_read_write" {
  statement {
    sid       = "ListStateBucket"
    actions   = ["s3:ListBucket"]
    resources = [module.state.bucket_arn]
  }

  statement {
    sid       = "ReadWriteStateAndLock"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${module.state.bucket_arn}/*"]
  }

  statement {
    sid       = "EncryptState"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.state.kms_key_arn]
  }
}

# ------------------------------------------------------------------ terraform plan (pr.yml)
# Code from the pull request runs in this job, so the role only reads: AWS's ReadOnlyAccess plus
# decrypting the state. The plan runs with -lock=false, so it needs no write to the bucket.
module "terraform_plan_role" {
  source = "../modules/github-actions-role"

  name              = "${var.name}-terraform-plan"
  description       = "Read-only terraform plan of environments/production for pull requests"
  oidc_provider_arn = local.oidc_provider_arn
  github_repository = var.github_repository
  trusted_jobs = [
    { workflow = "pr.yml", context = "pull_request", ref = "refs/pull/*/merge" },
  ]
  managed_policy_arns = ["arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"]
  inline_policies = {
    read-state = data.aws_iam_policy_document.state_read.json
  }
  tags = local.tags
}

data "aws_iam_policy_document" "state_read" {
  statement {
    sid       = "ReadState"
    actions   = ["s3:ListBucket", "s3:GetObject"]
    resources = [module.state.bucket_arn, "${module.state.bucket_arn}/*"]
  }

  statement {
    sid       = "DecryptState"
    actions   = ["kms:Decrypt"]
    resources = [module.state.kms_key_arn]
  }
}
