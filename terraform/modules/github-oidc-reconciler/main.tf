data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  main_ref = "refs/heads/${var.main_branch}"

  user_secrets_arn = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${var.user_secret_prefix}*" # pragma: allowlist secret
  # `gatewayctl apply --plan-viewer` keeps a proxy_admin_viewer key in this secret, outside the user
  # prefix; Secrets Manager appends a random 6-character suffix to secret ARNs.
  plan_viewer_secret_arn = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${var.plan_viewer_secret_name}-??????" # pragma: allowlist secret
  # `gatewayctl apply --spend-reader` keeps the key limited to /spend/logs/v2 the monthly chargeback reads with.
  spend_reader_secret_arn = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${var.spend_reader_secret_name}-??????" # pragma: allowlist secret
}

# ----------------------------------------------------------------- the reconciler's state table
# Two items (reconciler/apply/deploystate.py): `lock`, the gateway lock deploys and rotations take (they sit in
# separate GitHub concurrency groups, so neither cancels the other's pending run), and `converged`, the
# commit the last complete deploy converged the gateway to, the baseline of the next deploy's
# --changed-since. Only the reconciler role writes either: a baseline anyone else could move would let
# them scope an offboarding out of every later deploy, as GitHub's run list did. The resource policy
# denies item writes to every other principal, the Terraform apply role included; the plan
# role, pull requests and employees get nothing here.
resource "aws_dynamodb_table" "state" {
  name         = "${var.name}-reconciler-state"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = var.tags
}

resource "aws_dynamodb_resource_policy" "state" {
  resource_arn = aws_dynamodb_table.state.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "OnlyTheReconcilerWritesItems"
      Effect    = "Deny"
      Principal = "*"
      Action    = local.state_item_writes
      Resource  = aws_dynamodb_table.state.arn
      Condition = { ArnNotEquals = { "aws:PrincipalArn" = module.reconciler_role.arn } }
    }]
  })
}

locals {
  state_item_writes = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]
}

# ----------------------------------------------------------------- apply role
# Only deploy.yml (the reconcile job) and rotate.yml (the nightly key rotation), from the main branch,
# in the protected deploy environment. The monthly chargeback has its own role (below).
module "reconciler_role" {
  source = "../github-actions-role"

  name              = "${var.name}-reconciler"
  description       = "GitHub Actions reconciler (apply) for ${var.github_repository}"
  oidc_provider_arn = var.oidc_provider_arn
  github_repository = var.github_repository
  trusted_jobs = [
    { workflow = "deploy.yml", context = "environment:${var.deploy_environment}", ref = local.main_ref },
    { workflow = "rotate.yml", context = "environment:${var.deploy_environment}", ref = local.main_ref },
  ]
  inline_policies      = { reconcile-virtual-keys = local.reconciler_policy }
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

locals {
  reconciler_policy = jsonencode({
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
          # Each user's secret carries gatewayctl's resource policy (reconciler/live/keystore.py), checked before a write.
          "secretsmanager:PutResourcePolicy",
          "secretsmanager:GetResourcePolicy",
        ]
        Resource = local.user_secrets_arn
      },
      {
        Sid      = "ManagePlanViewerKeySecret"
        Effect   = "Allow"
        Action   = ["secretsmanager:CreateSecret", "secretsmanager:UpdateSecret", "secretsmanager:TagResource", "secretsmanager:DescribeSecret"]
        Resource = local.plan_viewer_secret_arn
      },
      {
        Sid      = "ManageSpendReaderKeySecret"
        Effect   = "Allow"
        Action   = ["secretsmanager:CreateSecret", "secretsmanager:UpdateSecret", "secretsmanager:TagResource", "secretsmanager:DescribeSecret"]
        Resource = local.spend_reader_secret_arn
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
      {
        # The gateway lock and the converged commit (the state table above); no Scan, no table changes.
        Sid      = "GatewayLockAndConvergedCommit"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
        Resource = aws_dynamodb_table.state.arn
      },
      {
        Sid      = "UseGatewayKeyForTheStateTable"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt", "kms:DescribeKey"]
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = "dynamodb.${local.region}.amazonaws.com" }
        }
      },
      ], var.notification_sender_identity_arn == null ? [] : [merge({
        # `gatewayctl apply/rotate/notify --notify ses`: key notices and budget alerts from this
        # verified identity only, and as the one sender address when it is given.
        Sid      = "SendKeyNotices"
        Effect   = "Allow"
        Action   = "ses:SendEmail"
        Resource = var.notification_sender_identity_arn
        }, var.notification_sender_address == null ? {} : {
        Condition = { StringEquals = { "ses:FromAddress" = var.notification_sender_address } }
    })])
  })
}

# ----------------------------------------------------------------- chargeback role
# chargeback.yml (scripts/ci/monthly-chargeback) on main, in the deploy environment: reads the spend-reader
# key (never the master key) and puts the month's evidence under its prefix of the Object Lock bucket.
# No read, no delete, no retention change: the bucket's default retention locks every version it writes.
module "chargeback_role" {
  source = "../github-actions-role"
  count  = var.create_chargeback_role ? 1 : 0

  name              = "${var.name}-chargeback"
  description       = "GitHub Actions monthly chargeback for ${var.github_repository}"
  oidc_provider_arn = var.oidc_provider_arn
  github_repository = var.github_repository
  trusted_jobs = [
    { workflow = "chargeback.yml", context = "environment:${var.deploy_environment}", ref = local.main_ref },
  ]
  inline_policies      = { read-spend-put-evidence = local.chargeback_policy }
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

locals {
  chargeback_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "ReadSpendReaderKey"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = local.spend_reader_secret_arn
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
      {
        Sid      = "PutChargebackEvidence"
        Effect   = "Allow"
        Action   = "s3:PutObject"
        Resource = "${coalesce(var.chargeback_bucket_arn, "arn:aws:s3:::none")}/${var.chargeback_prefix}/*"
      },
      ], var.chargeback_kms_key_arn == null ? [] : [{
        Sid      = "EncryptChargebackEvidence"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource = var.chargeback_kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = "s3.${local.region}.amazonaws.com" }
        }
    }])
  })
}

# ----------------------------------------------------------------- plan role
# PR plans must list keys through the LiteLLM admin API. Giving pull requests
# the master key would make every PR workflow a gateway admin, so the plan
# role can only read the secret holding a "proxy_admin_viewer" virtual key,
# which the reconciler's apply (`gatewayctl apply --plan-viewer`) mints,
# stores under its own prefix and repairs when it goes missing.
# Pull-request plans (pr.yml, once a reviewer approved the run in the pr-plan environment) and the
# nightly drift report (drift.yml on main, in the drift environment).
module "plan_role" {
  source = "../github-actions-role"
  count  = var.create_plan_role ? 1 : 0

  name              = "${var.name}-reconciler-plan"
  description       = "GitHub Actions read-only reconciler plan and drift for ${var.github_repository}"
  oidc_provider_arn = var.oidc_provider_arn
  github_repository = var.github_repository
  trusted_jobs = [
    { workflow = "pr.yml", context = "environment:${var.pr_plan_environment}", ref = "refs/pull/*/merge" },
    { workflow = "drift.yml", context = "environment:${var.drift_environment}", ref = local.main_ref },
  ]
  inline_policies      = { read-viewer-key = local.plan_policy }
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

locals {
  plan_policy = jsonencode({
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

# ----------------------------------------------------------------- directory role
# The nightly directory check (drift.yml's directory job, on main, in its own environment) compares
# users/ with the Identity Store: it lists the store's users and the employees' group's members, and
# nothing else (no DescribeUser: ListUsers returns each user whole; no writes).
module "directory_role" {
  source = "../github-actions-role"
  count  = var.directory == null ? 0 : 1

  name              = "${var.name}-directory-check"
  description       = "GitHub Actions nightly directory check (read-only Identity Store) for ${var.github_repository}"
  oidc_provider_arn = var.oidc_provider_arn
  github_repository = var.github_repository
  trusted_jobs = [
    { workflow = "drift.yml", context = "environment:${var.directory_environment}", ref = local.main_ref },
  ]
  inline_policies      = { read-directory = local.directory_policy }
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

locals {
  # The store lives in the account that owns the Identity Center instance, which may be the
  # organization's management account rather than this one; its id is unique, so any account.
  identity_store_arn = var.directory == null ? null : "arn:${local.partition}:identitystore::*:identitystore/${var.directory.identity_store_id}"
  directory_policy = var.directory == null ? null : jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListDirectoryUsers"
        Effect   = "Allow"
        Action   = "identitystore:ListUsers"
        Resource = local.identity_store_arn
      },
      {
        Sid      = "ListTheEmployeesGroupMembers"
        Effect   = "Allow"
        Action   = "identitystore:ListGroupMemberships"
        Resource = [local.identity_store_arn, "arn:${local.partition}:identitystore:::group/${var.directory.group_id}"]
      },
    ]
  })
}
