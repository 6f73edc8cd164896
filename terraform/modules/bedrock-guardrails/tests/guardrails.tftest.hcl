# A guardrail and a numbered version per guarded tier, built from the YAML block as Bedrock takes it.

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

override_resource {
  target = aws_bedrock_guardrail.this["coding"]
  values = {
    guardrail_id  = "coding5678ij"
    guardrail_arn = "arn:aws:bedrock:ap-south-1:123456789012:guardrail/coding5678ij"
  }
}

variables {
  name        = "llm-gateway"
  kms_key_arn = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  guardrails = {
    drafting = {
      pii = { CREDIT_DEBIT_CARD_NUMBER = "BLOCK", EMAIL = "ANONYMIZE" }
      denied_topics = [{
        name       = "Investment advice"
        definition = "Recommending investments."
        examples   = ["Which fund should I buy?"]
      }]
      content_filter_strength   = "MEDIUM"
      blocked_input_messaging   = "Refused."
      blocked_outputs_messaging = "Withheld."
    }
    coding = {
      pii                       = { AWS_ACCESS_KEY = "BLOCK" }
      blocked_input_messaging   = "No keys."
      blocked_outputs_messaging = "No keys out."
    }
  }
}

run "one_guardrail_and_version_per_tier" {
  command = apply

  assert {
    condition     = { for k, g in aws_bedrock_guardrail.this : k => g.name } == { drafting = "llm-gateway-drafting", coding = "llm-gateway-coding" }
    error_message = "One guardrail per guarded tier, named <name>-<tier>."
  }

  assert {
    condition = (
      { for e in aws_bedrock_guardrail.this["drafting"].sensitive_information_policy_config[0].pii_entities_config : e.type => e.action } == { CREDIT_DEBIT_CARD_NUMBER = "BLOCK", EMAIL = "ANONYMIZE" } &&
      aws_bedrock_guardrail.this["drafting"].topic_policy_config[0].topics_config[0].type == "DENY" &&
      aws_bedrock_guardrail.this["drafting"].kms_key_arn == var.kms_key_arn
    )
    error_message = "PII actions and denied topics are the YAML's, and the guardrail is encrypted with the stack's key."
  }

  assert {
    condition = (
      { for f in aws_bedrock_guardrail.this["drafting"].content_policy_config[0].filters_config : f.type => [f.input_strength, f.output_strength] } == {
        HATE   = ["MEDIUM", "MEDIUM"], INSULTS = ["MEDIUM", "MEDIUM"], MISCONDUCT = ["MEDIUM", "MEDIUM"],
        SEXUAL = ["MEDIUM", "MEDIUM"], VIOLENCE = ["MEDIUM", "MEDIUM"], PROMPT_ATTACK = ["MEDIUM", "NONE"]
      }
    )
    error_message = "content_filter_strength sets every category on prompts and answers, and prompt attacks on prompts only."
  }

  assert {
    condition = (
      length(aws_bedrock_guardrail.this["coding"].content_policy_config) == 0 &&
      length(aws_bedrock_guardrail.this["coding"].topic_policy_config) == 0
    )
    error_message = "A tier without topics or content filters gets no such policy."
  }

  assert {
    condition = (
      output.guardrails["coding"] == { id = "coding5678ij", arn = "arn:aws:bedrock:ap-south-1:123456789012:guardrail/coding5678ij", version = "1" } &&
      aws_bedrock_guardrail_version.this["drafting"].guardrail_arn == aws_bedrock_guardrail.this["drafting"].guardrail_arn &&
      aws_bedrock_guardrail_version.this["drafting"].skip_destroy
    )
    error_message = "Each tier's version belongs to its guardrail, is kept when replaced, and the output names both."
  }
}

run "a_guardrail_without_a_policy_is_refused" {
  command = plan

  variables {
    guardrails = {
      drafting = { blocked_input_messaging = "x", blocked_outputs_messaging = "y" }
    }
  }

  expect_failures = [var.guardrails]
}
