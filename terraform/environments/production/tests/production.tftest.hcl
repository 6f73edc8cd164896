# Whole production stack against the mock provider (no AWS account needed).

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

mock_provider "aws" {
  alias  = "identity_center"
  source = "../../tests/mocks/aws"
}

variables {
  certificate_arn       = "arn:aws:acm:ap-south-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"
  github_repository     = "example-org/llm-gateway-gitops"
  github_connection_arn = "arn:aws:codeconnections:ap-south-1:123456789012:connection/0f0e0d0c-0b0a-0908-0706-050403020100"
  # Without it the root warns (check "break_glass_has_someone"); run "no_break_glass_without_principals".
  break_glass_principal_arns = ["arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/ap-south-1/AWSReservedSSO_GatewayBreakGlass_*"]
}

run "default_stack_applies" {
  command = apply

  assert {
    condition = output.bedrock_model_ids == sort(distinct(concat(
      [for a, m in yamldecode(file("../../../policies/models.yaml")).models : m.bedrock_model_id],
      [for a, m in yamldecode(file("../../../policies/models.yaml")).models : replace(m.bedrock_model_id, "/^[a-z-]+\\./", "${m.fallback}.") if try(m.fallback, null) != null],
    )))
    error_message = "Task role models must come from policies/models.yaml: each model's ID and its fallback profile's."
  }

  # model-cheap (global, falling back to apac): the global profile and the Region-less model, the apac
  # profile and the model in the Regions it routes to (policies/bedrock-profiles.yaml).
  assert {
    condition = toset(flatten([for st in jsondecode(module.gateway_tasks.task_bedrock_policy).Statement : flatten([st.Resource])])) == toset(concat(
      [for p in ["apac.anthropic.claude-haiku-4-5-20251001-v1:0", "global.anthropic.claude-haiku-4-5-20251001-v1:0", "global.anthropic.claude-opus-4-5-20251101-v1:0", "global.anthropic.claude-sonnet-4-5-20250929-v1:0"] : "arn:aws:bedrock:ap-south-1:123456789012:inference-profile/${p}"],
      [for m in ["anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-opus-4-5-20251101-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0"] : "arn:aws:bedrock:*::foundation-model/${m}"],
      [for m in ["anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-opus-4-5-20251101-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0"] : "arn:aws:bedrock:::foundation-model/${m}"],
      [for r in yamldecode(file("../../../policies/bedrock-profiles.yaml")).models["anthropic.claude-haiku-4-5-20251001-v1:0"].profiles.apac : "arn:aws:bedrock:${r}::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0"],
    ))
    error_message = "The task role may invoke each model's profile and fallback profile, and the model where each routes, nothing else."
  }

  assert {
    condition     = output.peak_db_connections <= var.db_max_connections - var.db_reserved_connections
    error_message = "Default settings must fit the connection budget."
  }

  assert {
    condition     = output.cache_auth_secret_name != null && output.reconciler_role_arn != null
    error_message = "Cache and reconciler role are part of the default stack."
  }

  # 4 tasks * 200 % * 1 worker * database_connection_pool_limit + 5 reconciler + 5 migration
  assert {
    condition     = output.peak_db_connections == 8 * yamldecode(file("../../../gateway/config.yaml")).general_settings.database_connection_pool_limit + 10
    error_message = "The connection budget counts the pool limit gateway/config.yaml gives LiteLLM."
  }

  # ------------------------------------------------------------ how the gateway's modules are wired
  assert {
    condition     = local.permissions_boundary_arn == "arn:aws:iam::123456789012:policy/llm-gateway-boundary"
    error_message = "Every role of the stack carries the boundary terraform/bootstrap creates, found by its name."
  }

  assert {
    condition = (
      module.config_bucket.kms_key_arn == module.kms.key_arn &&
      module.access_logs_bucket.kms_key_arn == null
    )
    error_message = "The config bucket is encrypted with the stack's key; the access-log bucket with SSE-S3, the only encryption ALB log delivery supports."
  }

  assert {
    condition     = module.gateway_tasks.config_sha256 == filesha256("../../../gateway/config.yaml")
    error_message = "The uploaded config is gateway/config.yaml."
  }

  # ------------------------------------------------------------ the monthly chargeback's evidence
  assert {
    condition = (
      module.chargeback_bucket.kms_key_arn == module.kms.key_arn &&
      output.github_actions_secrets.CHARGEBACK_S3_URI == "s3://${module.chargeback_bucket.id}/chargeback"
    )
    error_message = "chargeback.yml stores its evidence in the stack's SSE-KMS bucket, named in github_actions_secrets."
  }

  assert {
    condition     = module.chargeback_bucket.object_lock == { mode = "GOVERNANCE", days = var.chargeback_evidence_retention_days }
    error_message = "Every version of the evidence is locked (GOVERNANCE) for the retention."
  }

  assert {
    condition = (
      output.github_actions_secrets.AWS_CHARGEBACK_ROLE_ARN == module.github_oidc_reconciler.chargeback_role_arn &&
      output.github_actions_secrets.LITELLM_SPEND_KEY_SECRET_ID == "llm-gateway/service/gatewayctl-spend-reader"
    )
    error_message = "chargeback.yml assumes its own role and reads the spend-reader key, both named in github_actions_secrets."
  }

  assert {
    condition = (
      jsondecode(module.github_oidc_reconciler.chargeback_policy_json).Statement[2].Action == "s3:PutObject" &&
      endswith(jsondecode(module.github_oidc_reconciler.chargeback_policy_json).Statement[2].Resource, "/chargeback/*") &&
      !strcontains(module.github_oidc_reconciler.chargeback_policy_json, "master-key") &&
      !strcontains(module.github_oidc_reconciler.chargeback_policy_json, "s3:Delete") &&
      !strcontains(module.github_oidc_reconciler.chargeback_policy_json, "Bypass")
    )
    error_message = "The chargeback role puts objects under chargeback/ only: no master key, no delete, no lock bypass."
  }
}

run "rejects_evidence_kept_less_than_a_year" {
  command = plan

  variables {
    chargeback_evidence_retention_days = 30
  }

  expect_failures = [var.chargeback_evidence_retention_days]
}

# The emergency revoke of docs/runbook.md: the role for the listed people, the task in the gateway's
# cluster, subnets and VPC, with the master key's secret, the private admin URL and the boundary.
run "break_glass_is_wired" {
  command = apply

  assert {
    condition = (
      length(module.break_glass) == 1 &&
      module.break_glass[0].role_arn == output.break_glass.role_arn &&
      output.break_glass.cluster == module.ecs_cluster.name &&
      output.break_glass.task_definition == "llm-gateway-break-glass" &&
      output.break_glass.container == "block-key"
    )
    error_message = "The break-glass role and task exist and the output names what aws ecs run-task needs."
  }

  assert {
    condition = output.break_glass.network_configuration == jsonencode({ awsvpcConfiguration = {
      subnets        = module.network.private_subnet_ids
      securityGroups = [module.break_glass[0].security_group_id]
      assignPublicIp = "DISABLED"
    } })
    error_message = "The task runs in the private subnets, in its own security group, without a public address."
  }
}

run "no_break_glass_without_principals" {
  command = apply

  variables {
    break_glass_principal_arns = []
  }

  expect_failures = [check.break_glass_has_someone]

  assert {
    condition     = output.break_glass == null && length(module.break_glass) == 0
    error_message = "Without break_glass_principal_arns there is no break-glass role, task or way into the tasks (and the root warns)."
  }
}

run "break_glass_rejects_a_principal_that_is_no_role" {
  command = plan

  variables {
    break_glass_principal_arns = ["arn:aws:iam::123456789012:root"]
  }

  expect_failures = [var.break_glass_principal_arns]
}

run "connection_budget_follows_the_gateway_config" {
  command = plan

  variables {
    # database_connection_pool_limit 10: 8 * 10 + 10 = 90 > 80 - 10
    gateway_config_path = "tests/fixtures/config-pool-10.yaml"
  }

  expect_failures = [var.gateway_max_tasks]
}

run "connection_budget_fails_at_plan" {
  command = plan

  variables {
    gateway_max_tasks        = 10
    gateway_workers_per_task = 2
  }

  # ceil(10 * 200/100) * 2 * 5 + 5 + 5 = 210 > 80 - 10
  expect_failures = [var.gateway_max_tasks]
}

run "endpoints_mode_requires_ecr_image" {
  command = plan

  variables {
    egress_mode = "endpoints"
  }

  # ...and it warns that the VPC runner has no way to GitHub without a NAT gateway.
  expect_failures = [var.litellm_image, check.vpc_runner_reaches_github]
}

run "rejects_latest_image" {
  command = plan

  variables {
    litellm_image = "ghcr.io/berriai/litellm-database:main-latest"
  }

  expect_failures = [var.litellm_image]
}

run "notifications_over_ses_are_wired" {
  command = apply

  variables {
    notification_sender          = "llm-gateway@example.com"
    notification_sender_identity = "example.com"
  }

  assert {
    condition     = aws_sesv2_email_identity.notification_sender[0].email_identity == "example.com"
    error_message = "The sender's SES identity (here its domain) is created."
  }

  assert {
    condition     = local.notification_sender_identity_arn == "arn:aws:ses:ap-south-1:123456789012:identity/example.com"
    error_message = "The reconciler role is given the identity's ARN (SES sending is denied without it)."
  }

  assert {
    condition     = output.github_actions_secrets.GATEWAYCTL_NOTIFY == "ses" && output.github_actions_secrets.GATEWAYCTL_NOTIFY_FROM == "llm-gateway@example.com"
    error_message = "The repository settings name the channel and the sender the role may send as."
  }
}

run "no_ses_without_a_sender" {
  command = plan

  assert {
    condition     = length(aws_sesv2_email_identity.notification_sender) == 0 && local.notification_sender_identity_arn == null
    error_message = "Without notification_sender there is no SES identity and no SES permission."
  }
}

run "sender_identity_must_be_the_address_or_its_domain" {
  command = plan

  variables {
    notification_sender          = "llm-gateway@example.com"
    notification_sender_identity = "other.example"
  }

  expect_failures = [var.notification_sender_identity]
}

# The AWS Budget follows from policies/tiers.yaml, not from a constant. For the default mix (50 Drafting,
# 40 Coding, 10 Architect) each member's budget plus one request's overshoot:
# 50 * (2.00 + 0.58) + 40 * (20.00 + 1.56) + 10 * (500.00 + 2.60) = 129 + 862.40 + 5026 = 6017.40,
# and with the stack's own 215: 6229.40 (docs/architecture.md, "Monthly cost").
run "aws_budget_follows_the_tiers" {
  command = plan

  assert {
    condition     = abs(output.bedrock_ceiling_usd - 6017.40) < 0.005 && abs(output.monthly_budget_usd - 6232.40) < 0.005
    error_message = "The Bedrock ceiling and the AWS Budget follow policies/tiers.yaml for the default user mix."
  }
}

run "aws_budget_follows_a_change_of_tiers" {
  command = plan

  variables {
    # Every tier's monthly budget doubled: 50 * 4.52 + 40 * 41.56 + 10 * 1002.60 = 11914.40.
    tiers_file_path = "tests/fixtures/tiers-doubled.yaml"
    budget_user_mix = { drafting = 50, coding = 40, architect = 10 }
  }

  assert {
    condition     = abs(output.bedrock_ceiling_usd - 11914.40) < 0.005 && abs(output.monthly_budget_usd - 12129.40) < 0.005
    error_message = "A change of the tiers' budgets changes the AWS Budget."
  }
}

run "an_explicit_aws_budget_wins" {
  command = plan

  variables {
    monthly_budget_usd = 1000
  }

  assert {
    condition     = output.monthly_budget_usd == 1000
    error_message = "monthly_budget_usd, when set, is the AWS Budget's limit."
  }
}

run "identity_center_is_off_by_default" {
  command = plan

  assert {
    condition     = length(module.identity_center) == 0 && module.github_oidc_reconciler.directory_role_arn == null && !contains(keys(output.github_actions_secrets), "AWS_DIRECTORY_ROLE_ARN")
    error_message = "Without identity_center_instance_arn nothing of Identity Center is managed and there is no directory role."
  }
}

run "identity_center_is_wired" {
  command = apply

  variables {
    identity_center_instance_arn = "arn:aws:sso:::instance/ssoins-1111111111111111"
    identity_center_region       = "eu-west-1"
    identity_store_id            = "d-1234567890"
    identity_center_group_id     = "9a67a2c4-5081-70a4-0c5e-6f1c2b3a4d5e"
  }

  assert {
    condition     = module.identity_center[0].user_id_attribute == "$${path:userName}" && module.identity_center[0].session_tag_key == "gitops_user_id"
    error_message = "gitops_user_id, the tag the key-access policy matches, is mapped from the directory's user name."
  }

  assert {
    condition = (
      output.github_actions_secrets.AWS_DIRECTORY_ROLE_ARN == "arn:aws:iam::123456789012:role/llm-gateway-directory-check" &&
      output.github_actions_secrets.GATEWAYCTL_IDENTITY_STORE == "d-1234567890" &&
      output.github_actions_secrets.GATEWAYCTL_DIRECTORY_GROUP == "9a67a2c4-5081-70a4-0c5e-6f1c2b3a4d5e" &&
      output.github_actions_secrets.GATEWAYCTL_DIRECTORY_REGION == "eu-west-1" &&
      output.github_actions_secrets.GATEWAYCTL_DIRECTORY_ATTRIBUTE == "$${path:userName}"
    )
    error_message = "The directory job's role, store and group are among the repository settings."
  }
}

run "identity_center_needs_its_store_and_group" {
  command = plan

  variables {
    identity_center_instance_arn = "arn:aws:sso:::instance/ssoins-1111111111111111"
  }

  expect_failures = [var.identity_store_id, var.identity_center_group_id]
}

run "identity_center_rejects_a_literal_user_id" {
  command = plan

  variables {
    identity_center_user_id_attribute = "alice"
    identity_center_session_duration  = "PT24H"
  }

  expect_failures = [var.identity_center_user_id_attribute, var.identity_center_session_duration]
}

# The one-line PR of docs/runbook.md ("Change a model"): model-cheap's ID from global. to apac. (the
# fixture is policies/models.yaml with that line changed; tests/test_residency.py checks it stays so).
# Its `fallback: apac` now names its own profile, so it has none: the task role loses the global profile
# and the Region-less model for Haiku, keeps apac in the APAC Regions, and Sonnet and Opus are unchanged.
run "model_cheap_switched_to_apac" {
  command = plan

  variables {
    models_file_path = "tests/fixtures/models-cheap-apac.yaml"
  }

  assert {
    condition     = output.bedrock_model_ids == tolist(["apac.anthropic.claude-haiku-4-5-20251001-v1:0", "global.anthropic.claude-opus-4-5-20251101-v1:0", "global.anthropic.claude-sonnet-4-5-20250929-v1:0"])
    error_message = "Only the apac profile of Haiku is left for model-cheap."
  }

  assert {
    condition = toset(flatten([for st in jsondecode(module.gateway_tasks.task_bedrock_policy).Statement : flatten([st.Resource])])) == toset(concat(
      [for p in ["apac.anthropic.claude-haiku-4-5-20251001-v1:0", "global.anthropic.claude-opus-4-5-20251101-v1:0", "global.anthropic.claude-sonnet-4-5-20250929-v1:0"] : "arn:aws:bedrock:ap-south-1:123456789012:inference-profile/${p}"],
      [for m in ["anthropic.claude-opus-4-5-20251101-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0"] : "arn:aws:bedrock:*::foundation-model/${m}"],
      [for m in ["anthropic.claude-opus-4-5-20251101-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0"] : "arn:aws:bedrock:::foundation-model/${m}"],
      [for r in yamldecode(file("../../../policies/bedrock-profiles.yaml")).models["anthropic.claude-haiku-4-5-20251001-v1:0"].profiles.apac : "arn:aws:bedrock:${r}::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0"],
    ))
    error_message = "Switching model-cheap to apac removes Haiku's global profile and Region-less model, and nothing else."
  }

  assert {
    condition = alltrue([
      for st in jsondecode(module.gateway_tasks.task_bedrock_policy).Statement :
      st.Condition.StringEquals["bedrock:InferenceProfileArn"] == "arn:aws:bedrock:ap-south-1:123456789012:inference-profile/apac.anthropic.claude-haiku-4-5-20251001-v1:0"
      if strcontains(jsonencode(st.Resource), "foundation-model/anthropic.claude-haiku")
    ])
    error_message = "Haiku in the APAC Regions only through the apac profile."
  }
}
