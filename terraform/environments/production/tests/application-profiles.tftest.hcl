# bedrock_application_profiles: off by default; on, a tagged application profile per tier and model, and the
# task role may invoke exactly those (docs/adr/0009-application-inference-profiles.md).

mock_provider "aws" {
  source          = "../../tests/mocks/aws"
  override_during = plan
}

mock_provider "aws" {
  alias           = "identity_center"
  source          = "../../tests/mocks/aws"
  override_during = plan
}

variables {
  certificate_arn            = "arn:aws:acm:ap-south-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"
  github_repository          = "example-org/llm-gateway-gitops"
  github_connection_arn      = "arn:aws:codeconnections:ap-south-1:123456789012:connection/0f0e0d0c-0b0a-0908-0706-050403020100"
  break_glass_principal_arns = ["arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/ap-south-1/AWSReservedSSO_GatewayBreakGlass_*"]
}

override_resource {
  target          = module.application_profiles.aws_bedrock_inference_profile.this["drafting-model-cheap"]
  override_during = plan
  values          = { arn = "arn:aws:bedrock:ap-south-1:123456789012:application-inference-profile/drafting0cheap" }
}

override_resource {
  target          = module.application_profiles.aws_bedrock_inference_profile.this["coding-model-balanced"]
  override_during = plan
  values          = { arn = "arn:aws:bedrock:ap-south-1:123456789012:application-inference-profile/coding0balanced" }
}

override_resource {
  target          = module.application_profiles.aws_bedrock_inference_profile.this["architect-model-reasoning"]
  override_during = plan
  values          = { arn = "arn:aws:bedrock:ap-south-1:123456789012:application-inference-profile/architect0reasoning" }
}

run "off_by_default" {
  command = plan

  assert {
    condition     = length(module.application_profiles.profiles) == 0
    error_message = "No application profile unless bedrock_application_profiles is set."
  }

  assert {
    condition     = !strcontains(module.gateway_tasks.task_bedrock_policy, "application-inference-profile")
    error_message = "Off, the task role's Bedrock policy names no application profile."
  }
}

run "one_profile_per_tier_and_model_invoked_exactly" {
  command = plan

  variables {
    bedrock_application_profiles = true
  }

  assert {
    condition = toset(keys(module.application_profiles.profiles)) == toset(flatten([
      for tier, t in yamldecode(file("../../../policies/tiers.yaml")).tiers : [for alias in t.models : "${tier}-${alias}"]
    ]))
    error_message = "One profile per tier and model of policies/tiers.yaml."
  }

  assert {
    condition     = module.application_profiles.profiles["drafting-model-cheap"].copy_from == "arn:aws:bedrock:ap-south-1:123456789012:inference-profile/${yamldecode(file("../../../policies/models.yaml")).models["model-cheap"].bedrock_model_id}"
    error_message = "A tier's profile copies the inference profile its model is called through (policies/models.yaml)."
  }

  assert {
    condition = [
      for st in jsondecode(module.gateway_tasks.task_bedrock_policy).Statement : st.Resource
      if st.Sid == "InvokeTierApplicationProfiles"
      ] == [[
        "arn:aws:bedrock:ap-south-1:123456789012:application-inference-profile/architect0reasoning",
        "arn:aws:bedrock:ap-south-1:123456789012:application-inference-profile/coding0balanced",
        "arn:aws:bedrock:ap-south-1:123456789012:application-inference-profile/drafting0cheap",
    ]]
    error_message = "The task role may invoke exactly the tiers' application profiles."
  }
}
