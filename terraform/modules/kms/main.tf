data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # Per-user key secrets (reconciler/live/keystore.py): the key is bound to each secret's encryption context
  # (Secrets Manager sends SecretARN with every call), so `kms:*` delegated to IAM below cannot reach them.
  writer      = try(var.user_key_secrets.writer_role_arn, "")
  user_arns   = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${try(var.user_key_secrets.secret_prefix, "")}" # pragma: allowlist secret
  secret_arn  = "kms:EncryptionContext:SecretARN"                                                                                                 # pragma: allowlist secret
  sso_roles   = "arn:${local.partition}:iam::${local.account_id}:role/aws-reserved/sso.amazonaws.com/*"
  owner_tag   = "aws:PrincipalTag/${try(var.user_key_secrets.owner_tag_key, "")}"
  for_secrets = { StringLike = { (local.secret_arn) = "${local.user_arns}*" } }
  not_writer  = { ArnNotEquals = { "aws:PrincipalArn" = local.writer } }
  user_key_secret_statements = [for st in [
    {
      Sid       = "UserKeySecretsOnlyThroughSecretsManager"
      Effect    = "Deny"
      Principal = { AWS = "*" }
      Action    = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
      Resource  = "*"
      Condition = merge(local.for_secrets, { StringNotEquals = { "kms:ViaService" = "secretsmanager.${local.region}.amazonaws.com" } })
    },
    {
      Sid       = "OnlyTheWriterEncryptsUserKeySecrets"
      Effect    = "Deny"
      Principal = { AWS = "*" }
      Action    = ["kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
      Resource  = "*"
      Condition = merge(local.for_secrets, local.not_writer)
    },
    {
      # Session tags of other principals (IAM users, chained role sessions) are their own to set.
      Sid       = "OnlyIdentityCenterRolesDecryptUserKeySecrets"
      Effect    = "Deny"
      Principal = { AWS = "*" }
      Action    = "kms:Decrypt"
      Resource  = "*"
      Condition = merge(local.for_secrets, { ArnNotLike = { "aws:PrincipalArn" = [local.writer, local.sso_roles] } })
    },
    {
      Sid       = "DecryptUserKeySecretsOnlyWithAnOwnerTag"
      Effect    = "Deny"
      Principal = { AWS = "*" }
      Action    = "kms:Decrypt"
      Resource  = "*"
      Condition = merge(local.for_secrets, local.not_writer, { Null = { (local.owner_tag) = "true" } })
    },
    {
      # The owner's own secret only: <prefix><user id>-<6 random characters>.
      Sid       = "DecryptOnlyTheOwnersKeySecret"
      Effect    = "Deny"
      Principal = { AWS = "*" }
      Action    = "kms:Decrypt"
      Resource  = "*"
      Condition = merge(local.not_writer, {
        StringLike    = { (local.secret_arn) = "${local.user_arns}*" }
        StringNotLike = { (local.secret_arn) = "${local.user_arns}$${${local.owner_tag}}-??????" }
      })
    },
  ] : st if var.user_key_secrets != null]
}

# One customer-managed key for the gateway's data at rest: Secrets Manager,
# RDS, ElastiCache, CloudWatch Logs, the config bucket and the alarm SNS topic.
resource "aws_kms_key" "this" {
  description             = "${var.name}: encryption of secrets, database, cache, logs, config and alarms"
  enable_key_rotation     = true
  rotation_period_in_days = var.rotation_period_in_days
  deletion_window_in_days = var.deletion_window_in_days

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        # Delegates to IAM: roles still need an identity policy naming this key.
        Sid       = "AccountAdministersKeyThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryptsOwnLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action = [
          "kms:Encrypt",
          "kms:Decrypt",
          "kms:ReEncrypt*",
          "kms:GenerateDataKey*",
          "kms:DescribeKey",
        ]
        Resource = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"
          }
        }
      },
      {
        # CloudWatch alarms, EventBridge and Budgets publish to the encrypted SNS topic.
        Sid    = "AlarmPublishersUseKeyForSns"
        Effect = "Allow"
        Principal = {
          Service = [
            "cloudwatch.amazonaws.com",
            "events.amazonaws.com",
            "budgets.amazonaws.com",
          ]
        }
        Action   = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ], local.user_key_secret_statements)
  })

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
