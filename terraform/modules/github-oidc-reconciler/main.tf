data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  oidc_host  = "token.actions.githubusercontent.com"

  oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : var.oidc_provider_arn

  # Apply role: only the protected environment, or else only the main branch.
  apply_subject = var.github_environment != null ? "repo:${var.github_repository}:environment:${var.github_environment}" : "repo:${var.github_repository}:ref:refs/heads/${var.github_branch}"
  plan_subject  = "repo:${var.github_repository}:pull_request"

  user_secrets_arn = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${var.user_secret_prefix}*" # pragma: allowlist secret
  # `gatewayctl apply --plan-viewer` keeps a proxy_admin_viewer key in <user prefix>gatewayctl-plan-viewer;
  # Secrets Manager appends a random 6-character suffix to secret ARNs.
  plan_viewer_secret_name = "${var.user_secret_prefix}gatewayctl-plan-viewer"
  plan_viewer_secret_arn  = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${local.plan_viewer_secret_name}-??????" # pragma: allowlist secret
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  tags           = var.tags
}

# ----------------------------------------------------------------- apply role
resource "aws_iam_role" "reconciler" {
  name                 = "${var.name}-reconciler"
  description          = "GitHub Actions reconciler (apply) for ${var.github_repository}"
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = local.oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${local.oidc_host}:aud" = "sts.amazonaws.com"
          "${local.oidc_host}:sub" = local.apply_subject
        }
      }
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "reconciler" {
  name = "reconcile-virtual-keys"
  role = aws_iam_role.reconciler.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "ReadMasterKey"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
        Resource = var.master_key_secret_arn
      },
      {
        Sid    = "ManagePerUserKeySecretsUnderPrefix"
        Effect = "Allow"
        Action = [
          "secretsmanager:CreateSecret",
          "secretsmanager:PutSecretValue",
          "secretsmanager:UpdateSecret",
          "secretsmanager:TagResource",
          "secretsmanager:DescribeSecret",
        ]
        Resource = local.user_secrets_arn
      },
      {
        # gatewayctl inventories per-user secrets by name prefix and reads only their tags
        # (the key-hash tag), never their values. ListSecrets has no resource-level scoping.
        Sid      = "InventoryKeySecrets"
        Effect   = "Allow"
        Action   = "secretsmanager:ListSecrets"
        Resource = "*"
      },
      {
        Sid      = "UseGatewayKeyForSecrets"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"]
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = "secretsmanager.${local.region}.amazonaws.com" }
        }
      },
      ], var.notification_sender_identity_arn == null ? [] : [{
        # `gatewayctl apply/rotate --notify ses`: key notices from this verified identity only.
        Sid      = "SendKeyNotices"
        Effect   = "Allow"
        Action   = "ses:SendEmail"
        Resource = var.notification_sender_identity_arn
    }])
  })
}

# ----------------------------------------------------------------- plan role
# PR plans must list keys through the LiteLLM admin API. Giving pull requests
# the master key would make every PR workflow a gateway admin, so the plan
# role can only read the secret holding a "proxy_admin_viewer" virtual key,
# which the reconciler's apply (`gatewayctl apply --plan-viewer`) mints,
# stores under its own prefix and repairs when it goes missing.
resource "aws_iam_role" "plan" {
  count = var.create_plan_role ? 1 : 0

  name                 = "${var.name}-reconciler-plan"
  description          = "GitHub Actions read-only reconciler plan for pull requests of ${var.github_repository}"
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = local.oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${local.oidc_host}:aud" = "sts.amazonaws.com"
          "${local.oidc_host}:sub" = local.plan_subject
        }
      }
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "plan" {
  count = var.create_plan_role ? 1 : 0

  name = "read-viewer-key"
  role = aws_iam_role.plan[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadPlanViewerKey"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
        Resource = local.plan_viewer_secret_arn
      },
      {
        Sid      = "DescribePerUserKeySecrets"
        Effect   = "Allow"
        Action   = "secretsmanager:DescribeSecret"
        Resource = local.user_secrets_arn
      },
      {
        Sid      = "InventoryKeySecrets"
        Effect   = "Allow"
        Action   = "secretsmanager:ListSecrets"
        Resource = "*"
      },
      {
        Sid      = "DecryptViaSecretsManager"
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = "secretsmanager.${local.region}.amazonaws.com" }
        }
      },
    ]
  })
}
