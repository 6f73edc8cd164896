# One Bedrock application inference profile per tier and model of policies/tiers.yaml, copied from the
# inference profile the model is called through (policies/models.yaml's bedrock_model_id). Its tags are
# cost-allocation tags: once activated in Billing, Cost Explorer and the CUR show Bedrock cost per tier.
# LiteLLM calls it through a deployment's `model_id` (docs/adr/0009-application-inference-profiles.md).

resource "aws_bedrock_inference_profile" "this" {
  for_each = var.profiles

  name        = "${var.name}-${each.key}"
  description = "Tier ${each.value.tier}, model ${each.value.model_alias} (policies/tiers.yaml)"

  model_source {
    copy_from = each.value.copy_from
  }

  tags = merge(var.tags, { Tier = each.value.tier, ModelAlias = each.value.model_alias })
}
