# The guarded tiers of policies/tiers.yaml become Bedrock guardrails, and the gateway's tasks get them.

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

run "guarded_tiers_get_guardrails" {
  command = plan

  assert {
    condition = toset(keys(module.guardrails.guardrails)) == toset([
      for tier, t in yamldecode(file("../../../policies/tiers.yaml")).tiers : tier if try(t.guardrail, null) != null
    ]) && length(module.guardrails.guardrails) > 0
    error_message = "Exactly the tiers with a guardrail block in policies/tiers.yaml get a guardrail."
  }
}

run "no_guarded_tier_no_guardrail" {
  command = plan

  variables {
    tiers_file_path = "tests/fixtures/tiers-doubled.yaml"
  }

  assert {
    condition     = length(module.guardrails.guardrails) == 0
    error_message = "A tiers file without guardrail blocks creates no guardrail."
  }
}
