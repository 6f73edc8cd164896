# Guardrails as policy: a Bedrock guardrail for each tier of policies/tiers.yaml with a `guardrail:`
# block (validated by `gatewayctl validate`), applied by that tier's model deployments
# (gateway/config.yaml's guardrailConfig). docs/adr/0008-guardrails-per-tier.md.
module "guardrails" {
  source = "../../modules/bedrock-guardrails"

  name        = var.name
  guardrails  = { for tier, t in local.tiers : tier => t.guardrail if try(t.guardrail, null) != null }
  kms_key_arn = module.kms.key_arn
  tags        = local.tags
}
