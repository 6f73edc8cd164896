# A bill that reconciles (issue #22): a Bedrock application inference profile per tier and model of
# policies/tiers.yaml, copied from the profile the model is called through and tagged with the tier, so that
# Cost Explorer and the CUR split Bedrock cost per tier once the tags are activated in Billing. LiteLLM calls
# one through a deployment's `model_id` (docs/adr/0009-application-inference-profiles.md). Off by default:
# the rendered gateway config does not call them yet, so turning this on only creates the profiles and lets
# the task role invoke them.
locals {
  application_profiles = var.bedrock_application_profiles ? merge([for tier, t in local.tiers : {
    for alias in t.models : "${tier}-${alias}" => {
      tier        = tier
      model_alias = alias
      copy_from = (
        replace(local.models_doc.models[alias].bedrock_model_id, local.profile_prefix, "") != local.models_doc.models[alias].bedrock_model_id
        ? "arn:${data.aws_partition.current.partition}:bedrock:${var.aws_region}:${data.aws_caller_identity.current.account_id}:inference-profile/${local.models_doc.models[alias].bedrock_model_id}"
        : "arn:${data.aws_partition.current.partition}:bedrock:${var.aws_region}::foundation-model/${local.models_doc.models[alias].bedrock_model_id}"
      )
    }
  }]...) : {}
}

module "application_profiles" {
  source = "../../modules/bedrock-application-profiles"

  name     = var.name
  profiles = local.application_profiles
  tags     = local.tags
}
