# The guarded tiers' guardrails reach the gateway container as environment values, and the task role
# may apply exactly those guardrails.

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}


variables {
  name             = "llm-gateway"
  image            = "ghcr.io/berriai/litellm-database:v1.108.7"
  config_file_path = "tests/fixtures/config.yaml"
  config_bucket    = "llm-gateway-config-123"
  bedrock_model_ids = [
    "global.anthropic.claude-haiku-4-5-20251001-v1:0",
    "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
  ]
  master_key_secret_arn = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/litellm-master-key-AbCdEf" # pragma: allowlist secret
  salt_key_secret_arn   = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/litellm-salt-key-AbCdEf"   # pragma: allowlist secret
  db_app_secret_arn     = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/db-app-AbCdEf"             # pragma: allowlist secret
  db_master_secret_arn  = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:rds!db-mock-AbCdEf"                    # pragma: allowlist secret
  db_address            = "db.mock.ap-south-1.rds.amazonaws.com"
  kms_key_arn           = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  guardrails = {
    drafting    = { id = "abcd1234efgh", arn = "arn:aws:bedrock:ap-south-1:123456789012:guardrail/abcd1234efgh", version = "3" }
    code-review = { id = "coding5678ij", arn = "arn:aws:bedrock:ap-south-1:123456789012:guardrail/coding5678ij", version = "1" }
  }
}

run "guardrails_reach_the_container_and_the_task_role" {
  command = apply

  assert {
    condition = (
      toset([for e in jsondecode(aws_ecs_task_definition.gateway.container_definitions)[0].environment : e if startswith(e.name, "GUARDRAIL_")]) == toset([
        { name = "GUARDRAIL_DRAFTING_ID", value = "abcd1234efgh" },
        { name = "GUARDRAIL_DRAFTING_VERSION", value = "3" },
        { name = "GUARDRAIL_CODE_REVIEW_ID", value = "coding5678ij" },
        { name = "GUARDRAIL_CODE_REVIEW_VERSION", value = "1" },
      ])
    )
    error_message = "Each guardrail's id and version are in the gateway container's environment under the names gateway/config.yaml reads."
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.task_guardrails[0].policy).Statement[0] == {
      Sid      = "ApplyTheTiersGuardrails"
      Effect   = "Allow"
      Action   = "bedrock:ApplyGuardrail"
      Resource = ["arn:aws:bedrock:ap-south-1:123456789012:guardrail/abcd1234efgh", "arn:aws:bedrock:ap-south-1:123456789012:guardrail/coding5678ij"]
    } && aws_iam_role_policy.task_guardrails[0].role == aws_iam_role.this["task"].id
    error_message = "The task role may apply exactly the tiers' guardrails: no wildcard, no other action."
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.task_guardrails[0].policy).Statement[1].Condition == {
      StringEquals = { "kms:ViaService" = "bedrock.ap-south-1.amazonaws.com" }
    }
    error_message = "The key decrypts a guardrail for the task only through Bedrock."
  }
}

run "no_guardrails_no_policy" {
  command = plan

  variables {
    guardrails = {}
  }

  assert {
    condition     = length(aws_iam_role_policy.task_guardrails) == 0
    error_message = "Without guarded tiers the task role gets no guardrail permission."
  }
}

run "a_wildcard_guardrail_arn_is_refused" {
  command = plan

  variables {
    guardrails = { drafting = { id = "x", arn = "arn:aws:bedrock:ap-south-1:123456789012:guardrail/*", version = "1" } }
  }

  expect_failures = [var.guardrails]
}
