# One application inference profile per tier and model, copied from the model's profile, with the tier tags.

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

override_resource {
  target = aws_bedrock_inference_profile.this["drafting-model-cheap"]
  values = {
    arn = "arn:aws:bedrock:ap-south-1:123456789012:application-inference-profile/drafting0cheap"
  }
}

variables {
  name = "llm-gateway"
  tags = { Project = "llm-gateway-gitops" }
  profiles = {
    drafting-model-cheap = {
      tier        = "drafting"
      model_alias = "model-cheap"
      copy_from   = "arn:aws:bedrock:ap-south-1:123456789012:inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0"
    }
    coding-model-balanced = {
      tier        = "coding"
      model_alias = "model-balanced"
      copy_from   = "arn:aws:bedrock:ap-south-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    }
  }
}

run "one_profile_per_tier_and_model" {
  command = apply

  assert {
    condition     = { for k, p in aws_bedrock_inference_profile.this : k => p.name } == { drafting-model-cheap = "llm-gateway-drafting-model-cheap", coding-model-balanced = "llm-gateway-coding-model-balanced" }
    error_message = "One profile per tier and model, named <name>-<tier>-<alias>."
  }

  assert {
    condition     = aws_bedrock_inference_profile.this["drafting-model-cheap"].model_source[0].copy_from == var.profiles["drafting-model-cheap"].copy_from
    error_message = "The profile copies the model's inference profile."
  }

  assert {
    condition     = aws_bedrock_inference_profile.this["drafting-model-cheap"].tags == tomap({ Project = "llm-gateway-gitops", Tier = "drafting", ModelAlias = "model-cheap" })
    error_message = "The cost-allocation tags name the tier and the model alias."
  }

  assert {
    condition     = output.profiles["drafting-model-cheap"].arn == "arn:aws:bedrock:ap-south-1:123456789012:application-inference-profile/drafting0cheap"
    error_message = "The output gives each profile's ARN."
  }
}

run "a_copy_from_that_is_no_bedrock_arn_is_refused" {
  command = plan

  variables {
    profiles = {
      drafting-model-cheap = { tier = "drafting", model_alias = "model-cheap", copy_from = "global.anthropic.claude-haiku-4-5-20251001-v1:0" }
    }
  }

  expect_failures = [var.profiles]
}
