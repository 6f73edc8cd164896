# The tasks' IAM (roles.tf): Bedrock invoke without wildcards, secrets, config and logs by name only.

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
}

run "least_privilege" {
  command = apply

  assert {
    condition = (
      { for k, r in aws_iam_role.this : k => r.name } == {
        execution              = "llm-gateway-ecs-execution"
        task                   = "llm-gateway-ecs-task"
        db_bootstrap_execution = "llm-gateway-db-bootstrap-execution"
      }
    )
    error_message = "Three roles: execution, task, db-bootstrap execution."
  }

  # ------------------------------------------------------------ Bedrock
  assert {
    condition = jsondecode(aws_iam_role_policy.task_marketplace[0].policy).Statement == [{
      Sid      = "MarketplaceSubscriptionOfThirdPartyModels"
      Effect   = "Allow"
      Action   = ["aws-marketplace:Subscribe", "aws-marketplace:Unsubscribe", "aws-marketplace:ViewSubscriptions"]
      Resource = "*"
    }] && aws_iam_role_policy.task_marketplace[0].role == aws_iam_role.this["task"].id
    error_message = "The task role holds what AWS documents for the Marketplace subscription of an Anthropic model's first call, and nothing more."
  }

  assert {
    condition = alltrue([
      for st in jsondecode(aws_iam_role_policy.task_bedrock.policy).Statement :
      alltrue([for a in flatten([st.Action]) : !strcontains(a, "*")]) &&
      alltrue([for r in flatten([st.Resource]) : r != "*" && !endswith(r, "/*") && !strcontains(r, "foundation-model/*") && !strcontains(r, "inference-profile/*")])
    ])
    error_message = "Bedrock invoke permissions must not use wildcard actions or wildcard resources."
  }

  assert {
    condition = toset(flatten([
      for st in jsondecode(aws_iam_role_policy.task_bedrock.policy).Statement : flatten([st.Action])
    ])) == toset(["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"])
    error_message = "Only InvokeModel and InvokeModelWithResponseStream are allowed."
  }

  assert {
    condition = contains(
      flatten([for st in jsondecode(aws_iam_role_policy.task_bedrock.policy).Statement : flatten([st.Resource])]),
      "arn:aws:bedrock:ap-south-1:123456789012:inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0"
    )
    error_message = "The global inference profile ARN must be allowed."
  }

  assert {
    condition = length([
      for st in jsondecode(aws_iam_role_policy.task_bedrock.policy).Statement : st
      if st.Resource == "arn:aws:bedrock:::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0"
      && try(st.Condition.StringEquals["aws:RequestedRegion"], "") == "unspecified"
      && try(st.Condition.StringEquals["bedrock:InferenceProfileArn"], "") == "arn:aws:bedrock:ap-south-1:123456789012:inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0"
    ]) == 1
    error_message = "Global foundation-model ARN must be conditioned on the profile ARN and aws:RequestedRegion = unspecified."
  }

  assert {
    condition = alltrue([
      for st in jsondecode(aws_iam_role_policy.task_bedrock.policy).Statement :
      can(st.Condition.StringEquals["bedrock:InferenceProfileArn"]) if strcontains(jsonencode(st.Resource), "foundation-model/")
    ])
    error_message = "Foundation-model access must be conditioned on bedrock:InferenceProfileArn."
  }

  # ------------------------------------------------------------ count_tokens (Claude Code)
  assert {
    condition = toset(flatten([
      for st in jsondecode(aws_iam_role_policy.task_count_tokens.policy).Statement : flatten([st.Action])
    ])) == toset(["bedrock:CountTokens", "bedrock-mantle:CountTokens"])
    error_message = "count_tokens needs exactly bedrock:CountTokens and bedrock-mantle:CountTokens."
  }

  assert {
    condition = toset(flatten([
      for st in jsondecode(aws_iam_role_policy.task_count_tokens.policy).Statement : flatten([st.Resource])
      if st.Action == "bedrock:CountTokens"
      ])) == toset([
      "arn:aws:bedrock:ap-south-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0",
      "arn:aws:bedrock:ap-south-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
    ])
    error_message = "Runtime CountTokens is asked for the base model in the gateway's Region, and only for configured models."
  }

  assert {
    condition = one([
      for st in jsondecode(aws_iam_role_policy.task_count_tokens.policy).Statement : st.Resource
      if st.Action == "bedrock-mantle:CountTokens"
    ]) == "arn:aws:bedrock-mantle:ap-south-1:123456789012:project/default"
    error_message = "Mantle CountTokens only on this account's default project in the gateway's Region."
  }

  assert {
    condition = alltrue([
      for st in jsondecode(aws_iam_role_policy.task_count_tokens.policy).Statement :
      alltrue([for r in flatten([st.Resource]) : r != "*" && !strcontains(r, "*")])
    ])
    error_message = "count_tokens permissions must not use wildcard resources."
  }

  # ------------------------------------------------------------ secrets, config, logs
  assert {
    condition = tolist(one([
      for st in jsondecode(aws_iam_role_policy.execution.policy).Statement : st.Resource
      if st.Action == "secretsmanager:GetSecretValue"
    ])) == output.gateway_secret_arns && output.gateway_secret_arns == tolist([var.master_key_secret_arn, var.salt_key_secret_arn, var.db_app_secret_arn])
    error_message = "The execution role reads exactly the secrets the gateway's task definitions reference."
  }

  assert {
    condition = !strcontains(aws_iam_role_policy.execution.policy, var.db_master_secret_arn) && contains(
      one([for st in jsondecode(aws_iam_role_policy.db_bootstrap_execution.policy).Statement : st.Resource if st.Action == "secretsmanager:GetSecretValue"]),
      var.db_master_secret_arn
    )
    error_message = "Only the db-bootstrap task's execution role reads the RDS master secret."
  }

  assert {
    condition = alltrue([
      for p in [aws_iam_role_policy.execution.policy, aws_iam_role_policy.db_bootstrap_execution.policy] :
      alltrue([for st in jsondecode(p).Statement : st.Condition.StringEquals["kms:ViaService"] == "secretsmanager.ap-south-1.amazonaws.com" if st.Action == "kms:Decrypt"])
    ])
    error_message = "Execution roles decrypt only through Secrets Manager."
  }

  assert {
    condition = (
      one([for st in jsondecode(aws_iam_role_policy.task_config.policy).Statement : st.Resource if st.Action == "s3:GetObject"]) == "arn:aws:s3:::llm-gateway-config-123/litellm/config.yaml" &&
      one([for st in jsondecode(aws_iam_role_policy.task_config.policy).Statement : st.Condition.StringEquals["kms:ViaService"] if st.Action == "kms:Decrypt"]) == "s3.ap-south-1.amazonaws.com"
    )
    error_message = "The task role reads the config object and nothing else of S3."
  }

  assert {
    condition     = !strcontains(aws_iam_role_policy.execution.policy, "ecr:")
    error_message = "An image outside ECR needs no ECR permission."
  }

  assert {
    condition = alltrue([
      for r in aws_iam_role.this :
      jsondecode(r.assume_role_policy).Statement[0].Principal.Service == "ecs-tasks.amazonaws.com" &&
      jsondecode(r.assume_role_policy).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    ])
    error_message = "Only ECS tasks of this account assume the roles."
  }
}

run "ecr_image_pulls_its_own_repository_only" {
  command = apply

  variables {
    image = "123456789012.dkr.ecr.ap-south-1.amazonaws.com/ghcr/berriai/litellm-database:v1.108.7"
  }

  assert {
    condition = one([
      for st in jsondecode(aws_iam_role_policy.execution.policy).Statement : st.Resource if st.Sid == "PullGatewayImage"
    ]) == "arn:aws:ecr:ap-south-1:123456789012:repository/ghcr/berriai/litellm-database"
    error_message = "The execution role may pull the gateway's repository and no other."
  }
}

run "direct_model_ids_stay_in_region" {
  command = apply

  variables {
    bedrock_model_ids = ["amazon.titan-embed-text-v2:0"]
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.task_bedrock.policy).Statement == [{
      Sid      = "InvokeInRegionFoundationModels"
      Effect   = "Allow"
      Action   = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
      Resource = ["arn:aws:bedrock:ap-south-1::foundation-model/amazon.titan-embed-text-v2:0"]
    }]
    error_message = "A model without an inference profile is invoked in the gateway's Region only."
  }

  assert {
    condition     = length(aws_iam_role_policy.task_marketplace) == 0
    error_message = "Amazon's own models are not sold through AWS Marketplace: no Marketplace permission."
  }
}

run "rejects_unknown_mantle_project" {
  command = plan

  variables {
    bedrock_mantle_project_id = "*"
  }

  expect_failures = [var.bedrock_mantle_project_id]
}

run "rejects_wildcard_model" {
  command = plan

  variables {
    bedrock_model_ids = ["anthropic.*"]
  }

  expect_failures = [var.bedrock_model_ids]
}

run "task_definitions_run_as_these_roles" {
  command = apply

  assert {
    condition = (
      aws_ecs_task_definition.gateway.execution_role_arn == aws_iam_role.this["execution"].arn &&
      aws_ecs_task_definition.gateway.task_role_arn == aws_iam_role.this["task"].arn &&
      aws_ecs_task_definition.migrate.execution_role_arn == aws_iam_role.this["execution"].arn &&
      aws_ecs_task_definition.migrate.task_role_arn == aws_iam_role.this["task"].arn &&
      aws_ecs_task_definition.db_bootstrap.execution_role_arn == aws_iam_role.this["db_bootstrap_execution"].arn
    )
    error_message = "The gateway and migrate tasks run with the execution and task roles; db-bootstrap with its own execution role."
  }

  assert {
    condition = one([
      for st in jsondecode(aws_iam_role_policy.execution.policy).Statement : st.Resource if st.Sid == "WriteGatewayLogs"
    ]) == "${aws_cloudwatch_log_group.this.arn}:*"
    error_message = "The execution role writes to the tasks' own log group."
  }
}

# A geographic profile with its destination Regions (policies/bedrock-profiles.yaml, passed by the
# production root): the foundation model in exactly those Regions, only through that profile.
run "geographic_profile_scoped_to_its_regions" {
  command = plan

  variables {
    bedrock_model_ids         = ["apac.anthropic.claude-haiku-4-5-20251001-v1:0"]
    inference_profile_regions = { "apac.anthropic.claude-haiku-4-5-20251001-v1:0" = ["ap-south-1", "ap-northeast-1"] }
  }

  assert {
    condition = [
      for st in jsondecode(aws_iam_role_policy.task_bedrock.policy).Statement : st
      if strcontains(jsonencode(st.Resource), "foundation-model/")
      ] == [{
        Sid       = "InvokeRegionalModelViaProfile0"
        Effect    = "Allow"
        Action    = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
        Resource  = ["arn:aws:bedrock:ap-south-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0", "arn:aws:bedrock:ap-northeast-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0"]
        Condition = { StringEquals = { "bedrock:InferenceProfileArn" = "arn:aws:bedrock:ap-south-1:123456789012:inference-profile/apac.anthropic.claude-haiku-4-5-20251001-v1:0" } }
    }]
    error_message = "An apac profile reaches Haiku only in the Regions it routes to, only through the profile, and no global model."
  }
}

run "profile_regions_must_be_region_names" {
  command = plan

  variables {
    inference_profile_regions = { "global.anthropic.claude-haiku-4-5-20251001-v1:0" = ["*"] }
  }

  expect_failures = [var.inference_profile_regions]
}

run "application_profiles_are_invoked_exactly" {
  command = plan

  variables {
    application_profiles = {
      drafting-model-cheap = {
        arn       = "arn:aws:bedrock:ap-south-1:123456789012:application-inference-profile/drafting0cheap"
        copy_from = "arn:aws:bedrock:ap-south-1:123456789012:inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0"
      }
    }
  }

  assert {
    condition = [
      for st in jsondecode(aws_iam_role_policy.task_bedrock.policy).Statement : st.Resource
      if st.Sid == "InvokeTierApplicationProfiles"
    ] == [["arn:aws:bedrock:ap-south-1:123456789012:application-inference-profile/drafting0cheap"]]
    error_message = "The task role may invoke exactly the tiers' application profiles."
  }

  assert {
    condition = {
      for st in jsondecode(aws_iam_role_policy.task_bedrock.policy).Statement : st.Sid => st.Condition.StringEquals["bedrock:InferenceProfileArn"]
      if strcontains(jsonencode(st.Resource), "foundation-model/")
      } == {
      # sorted model ids: 0 is Haiku, 1 is Sonnet; Regional: any Region through the profile, Global: no Region
      InvokeRegionalModelViaProfile0 = ["arn:aws:bedrock:ap-south-1:123456789012:inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0", "arn:aws:bedrock:ap-south-1:123456789012:application-inference-profile/drafting0cheap"]
      InvokeGlobalModelViaProfile0   = ["arn:aws:bedrock:ap-south-1:123456789012:inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0", "arn:aws:bedrock:ap-south-1:123456789012:application-inference-profile/drafting0cheap"]
      InvokeRegionalModelViaProfile1 = "arn:aws:bedrock:ap-south-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0"
      InvokeGlobalModelViaProfile1   = "arn:aws:bedrock:ap-south-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    }
    error_message = "Haiku's foundation model is reached through its profile or the application profile copying it; Sonnet's through its profile only."
  }
}

run "an_application_profile_wildcard_is_refused" {
  command = plan

  variables {
    application_profiles = {
      drafting-model-cheap = {
        arn       = "arn:aws:bedrock:ap-south-1:123456789012:application-inference-profile/*"
        copy_from = "arn:aws:bedrock:ap-south-1:123456789012:inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0"
      }
    }
  }

  expect_failures = [var.application_profiles]
}
