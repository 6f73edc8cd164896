# The Bedrock guardrails of the guarded tiers (modules/bedrock-guardrails): the gateway container learns
# each one's id and version from its environment (gateway/config.yaml names GUARDRAIL_<TIER>_ID and
# GUARDRAIL_<TIER>_VERSION), and the task role may apply exactly these guardrails and no other.

locals {
  guardrail_environment = flatten([for tier, g in var.guardrails : [
    { name = "GUARDRAIL_${upper(replace(tier, "-", "_"))}_ID", value = g.id },
    { name = "GUARDRAIL_${upper(replace(tier, "-", "_"))}_VERSION", value = g.version },
  ]])
}

resource "aws_iam_role_policy" "task_guardrails" {
  count = length(var.guardrails) == 0 ? 0 : 1

  name = "apply-tier-guardrails"
  role = aws_iam_role.this["task"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # Converse/InvokeModel with a guardrail is allowed only with ApplyGuardrail on that guardrail.
        Sid      = "ApplyTheTiersGuardrails"
        Effect   = "Allow"
        Action   = "bedrock:ApplyGuardrail"
        Resource = sort([for g in values(var.guardrails) : g.arn])
      },
      {
        # The guardrails are encrypted with the stack's key; Bedrock decrypts them for the caller.
        Sid      = "DecryptTheGuardrailsThroughBedrock"
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = "bedrock.${local.region}.amazonaws.com" }
        }
      },
    ]
  })
}
