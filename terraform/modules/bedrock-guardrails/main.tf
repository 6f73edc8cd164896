# One Amazon Bedrock guardrail per guarded tier of policies/tiers.yaml, and a numbered version of it:
# the task definition names the version (GUARDRAIL_<TIER>_VERSION), so a change to the YAML makes a new
# version and rolls the service onto it. docs/adr/0008-guardrails-per-tier.md.

locals {
  # A content_filter_strength applies to these categories on prompts and answers; PROMPT_ATTACK is
  # judged on prompts only (Bedrock requires its output strength to be NONE).
  content_categories = ["HATE", "INSULTS", "MISCONDUCT", "SEXUAL", "VIOLENCE"]
}

resource "aws_bedrock_guardrail" "this" {
  for_each = var.guardrails

  name                      = "${var.name}-${each.key}"
  description               = "Tier ${each.key} of policies/tiers.yaml"
  blocked_input_messaging   = each.value.blocked_input_messaging
  blocked_outputs_messaging = each.value.blocked_outputs_messaging
  kms_key_arn               = var.kms_key_arn

  dynamic "sensitive_information_policy_config" {
    for_each = length(each.value.pii) > 0 ? [each.value.pii] : []
    content {
      dynamic "pii_entities_config" {
        for_each = sensitive_information_policy_config.value
        content {
          type   = pii_entities_config.key
          action = pii_entities_config.value
        }
      }
    }
  }

  dynamic "topic_policy_config" {
    for_each = length(each.value.denied_topics) > 0 ? [each.value.denied_topics] : []
    content {
      dynamic "topics_config" {
        for_each = topic_policy_config.value
        content {
          name       = topics_config.value.name
          definition = topics_config.value.definition
          examples   = topics_config.value.examples
          type       = "DENY"
        }
      }
    }
  }

  dynamic "content_policy_config" {
    for_each = each.value.content_filter_strength == "NONE" ? [] : [each.value.content_filter_strength]
    content {
      dynamic "filters_config" {
        for_each = local.content_categories
        content {
          type            = filters_config.value
          input_strength  = content_policy_config.value
          output_strength = content_policy_config.value
        }
      }
      filters_config {
        type            = "PROMPT_ATTACK"
        input_strength  = content_policy_config.value
        output_strength = "NONE"
      }
    }
  }

  tags = merge(var.tags, { Tier = each.key })
}

resource "aws_bedrock_guardrail_version" "this" {
  for_each = var.guardrails

  guardrail_arn = aws_bedrock_guardrail.this[each.key].guardrail_arn
  description   = "policies/tiers.yaml ${substr(sha256(jsonencode(each.value)), 0, 12)}"
  # Running tasks keep calling the version they were started with until the rolling deploy replaces
  # them: an old version is left in the account (not deleted) when a change makes a new one.
  skip_destroy = true

  lifecycle {
    replace_triggered_by = [aws_bedrock_guardrail.this[each.key]]
  }
}
