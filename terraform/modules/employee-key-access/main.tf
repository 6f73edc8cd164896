# Employee self-service: read your own LiteLLM key, and nobody else's.
#
# Attribute-based access control: a key secret is readable only when its owner tag (written by
# gatewayctl, see reconciler/live/keystore.py) equals the caller's session tag of the same key. The
# session tag comes from the identity provider (IAM Identity Center "attributes for access
# control", or a SAML/OIDC session tag), never from the employee, so one policy serves everyone.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  policy_name = "${var.name}-employee-key-access"
  # Secrets Manager appends a random 6-character suffix to secret ARNs.
  key_secrets_arn = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${var.user_secret_prefix}*" # pragma: allowlist secret
  principal_tag   = "aws:PrincipalTag/${var.owner_tag_key}"

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadOwnKeySecret"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
        Resource = local.key_secrets_arn
        Condition = {
          StringEquals = {
            "secretsmanager:ResourceTag/${var.owner_tag_key}" = "$${${local.principal_tag}}"
            "secretsmanager:ResourceTag/managed-by"           = var.managed_by
          }
          # Without the session tag the policy variable resolves to nothing: deny outright.
          Null = { (local.principal_tag) = "false" }
        }
      },
      {
        Sid      = "DecryptOnlyThroughSecretsManagerForKeySecrets"
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = "secretsmanager.${local.region}.amazonaws.com" }
          StringLike   = { "kms:EncryptionContext:SecretARN" = local.key_secrets_arn }
        }
      },
    ]
  })
}

resource "aws_iam_policy" "this" {
  name        = local.policy_name
  description = "Read only your own LLM gateway key: secrets under ${var.user_secret_prefix} whose ${var.owner_tag_key} tag equals your session tag"
  policy      = local.policy
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = toset(var.attach_to_role_names)

  role       = each.value
  policy_arn = aws_iam_policy.this.arn
}

resource "aws_ssoadmin_customer_managed_policy_attachment" "this" {
  for_each = { for p in var.identity_center_permission_sets : p.permission_set_arn => p }

  instance_arn       = each.value.instance_arn
  permission_set_arn = each.value.permission_set_arn

  customer_managed_policy_reference {
    name = aws_iam_policy.this.name
    path = aws_iam_policy.this.path
  }
}
