# Who the gateway's ECS tasks are, and what each may do: the execution role (pull the image, read
# the gateway's secrets, write logs), the task role (invoke the configured Bedrock models, read the
# config object) and the db-bootstrap task's execution role (the only one that reads the RDS master
# secret). Every policy names its resources; none uses a wildcard resource it could avoid. The
# roles live beside the task definitions (main.tf) because each reads what the other defines: the
# secrets the tasks reference, the config object and the log group.

data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Trust for every role an ECS task of this module assumes (execution, task, one-off tasks).
  ecs_tasks_assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
      }
    }]
  })

  image_is_ecr = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.", var.image))

  # Secrets Manager decrypts with the KMS key on the caller's behalf, and only for this service.
  decrypt_secrets_statement = {
    Effect   = "Allow"
    Action   = "kms:Decrypt"
    Resource = var.kms_key_arn
    Condition = {
      StringEquals = { "kms:ViaService" = "secretsmanager.${local.region}.amazonaws.com" }
    }
  }

  write_logs_statement = {
    Effect   = "Allow"
    Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    Resource = "${aws_cloudwatch_log_group.this.arn}:*"
  }

  # ---------------------------------------------------------------- bedrock
  profile_prefix_regex = "^(global|us|eu|apac|jp|au|ca|us-gov)\\."
  models = {
    for id in var.bedrock_model_ids : id => {
      prefix      = try(regex(local.profile_prefix_regex, id)[0], null)
      fm_id       = replace(id, "/${local.profile_prefix_regex}/", "")
      profile_arn = "arn:${local.partition}:bedrock:${local.region}:${local.account_id}:inference-profile/${id}"
      # The foundation model in each Region the profile routes to (var.inference_profile_regions); any
      # Region, still only through this profile, when they are not given.
      regional_fm_arns = [
        for r in lookup(var.inference_profile_regions, id, ["*"]) :
        "arn:${local.partition}:bedrock:${r}::foundation-model/${replace(id, "/${local.profile_prefix_regex}/", "")}"
      ]
    }
  }
  invoke_actions = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]

  profile_models = { for id, m in local.models : id => m if m.prefix != null }
  # The tiers' application inference profiles (modules/bedrock-application-profiles, ADR 0009). A call
  # through one carries its ARN as bedrock:InferenceProfileArn, so the foundation-model statements of the
  # profile it copies admit it as well. Without any the condition stays the one string it was.
  application_profiles = sort([for p in values(var.application_profiles) : p.arn])
  copies_of            = { for id, m in local.models : id => sort([for p in values(var.application_profiles) : p.arn if p.copy_from == m.profile_arn]) }
  profile_condition = { for id, m in local.models : id => jsondecode(
    length(local.copies_of[id]) == 0 ? jsonencode(m.profile_arn) : jsonencode(concat([m.profile_arn], local.copies_of[id]))
  ) }
  global_models = { for id, m in local.models : id => m if m.prefix == "global" }
  direct_models = { for id, m in local.models : id => m if m.prefix == null }

  bedrock_statements = concat(
    length(local.profile_models) == 0 ? [] : [{
      Sid      = "InvokeConfiguredInferenceProfiles"
      Effect   = "Allow"
      Action   = local.invoke_actions
      Resource = sort([for m in values(local.profile_models) : m.profile_arn])
    }],
    length(local.application_profiles) == 0 ? [] : [{
      Sid      = "InvokeTierApplicationProfiles"
      Effect   = "Allow"
      Action   = local.invoke_actions
      Resource = local.application_profiles
    }],
    [for id in sort(keys(local.profile_models)) : {
      Sid      = "InvokeRegionalModelViaProfile${index(sort(keys(local.profile_models)), id)}"
      Effect   = "Allow"
      Action   = local.invoke_actions
      Resource = local.models[id].regional_fm_arns
      Condition = {
        StringEquals = { "bedrock:InferenceProfileArn" = local.profile_condition[id] }
      }
    }],
    # Global cross-Region inference: the global foundation-model ARN has no Region and
    # the request carries aws:RequestedRegion = "unspecified".
    [for id in sort(keys(local.global_models)) : {
      Sid      = "InvokeGlobalModelViaProfile${index(sort(keys(local.global_models)), id)}"
      Effect   = "Allow"
      Action   = local.invoke_actions
      Resource = "arn:${local.partition}:bedrock:::foundation-model/${local.models[id].fm_id}"
      Condition = {
        StringEquals = {
          "aws:RequestedRegion"         = "unspecified"
          "bedrock:InferenceProfileArn" = local.profile_condition[id]
        }
      }
    }],
    length(local.direct_models) == 0 ? [] : [{
      Sid      = "InvokeInRegionFoundationModels"
      Effect   = "Allow"
      Action   = local.invoke_actions
      Resource = sort([for id in keys(local.direct_models) : "arn:${local.partition}:bedrock:${local.region}::foundation-model/${id}"])
    }],
  )

  # /v1/messages/count_tokens, which Claude Code calls: LiteLLM first asks bedrock-runtime
  # CountTokens for the *base* model in this Region (the profile prefix stripped). For Claude
  # models Bedrock serves only through cross-Region profiles it answers 400, and LiteLLM then
  # asks bedrock-mantle (/anthropic/v1/messages/count_tokens, the default project). IAM is checked
  # before the 400: without bedrock:CountTokens the answer is 403 and LiteLLM never tries Mantle;
  # without bedrock-mantle:CountTokens the Mantle call gets 403. Either way count_tokens fails
  # with 403 token_counting_error, while inference keeps working. Both actions only count, free.
  claude_models = { for id, m in local.models : id => m if strcontains(m.fm_id, "claude") }

  # Third-party models (every provider but Amazon) are sold through AWS Marketplace: the account's
  # first call to one subscribes to it in the background, as the caller, and fails with
  # AccessDeniedException on every later call if the caller lacks these actions (Bedrock user guide,
  # "Request access to models": Subscribe, Unsubscribe and ViewSubscriptions). Marketplace actions
  # take no resource ARN. scripts/ci/preflight reads the outcome per model (`gatewayctl preflight`).
  marketplace_models = { for id, m in local.models : id => m if !startswith(m.fm_id, "amazon.") }
  count_tokens_statements = concat(
    [{
      Sid      = "CountTokensOnBedrockRuntime"
      Effect   = "Allow"
      Action   = "bedrock:CountTokens"
      Resource = sort(distinct([for m in values(local.models) : "arn:${local.partition}:bedrock:${local.region}::foundation-model/${m.fm_id}"]))
    }],
    length(local.claude_models) == 0 ? [] : [{
      # Resource type `project` is the only one this action takes; the Model condition key is
      # not used because AWS does not document its value for the Anthropic route.
      Sid      = "CountTokensOnBedrockMantle"
      Effect   = "Allow"
      Action   = "bedrock-mantle:CountTokens"
      Resource = "arn:${local.partition}:bedrock-mantle:${local.region}:${local.account_id}:project/${var.bedrock_mantle_project_id}"
    }],
  )
}

# =================================================================== roles
# Three roles, each trusting ECS tasks of this account only:
# - execution: what ECS needs to start the gateway and migrate tasks (image, secrets, logs);
# - task: what LiteLLM itself does (invoke Bedrock and count tokens, read its config);
# - db_bootstrap_execution: starts the one-off db-bootstrap task, which creates the application
#   role with the password bootstrap-secrets wrote to the app secret, logging in with the
#   RDS-managed master secret. No other role may read that secret.
# The policies below are one resource each, not a table: checkov evaluates a policy document only
# when it is written out in the resource.
resource "aws_iam_role" "this" {
  for_each = {
    execution              = "${var.name}-ecs-execution"
    task                   = "${var.name}-ecs-task"
    db_bootstrap_execution = "${var.name}-db-bootstrap-execution"
  }

  name                 = each.value
  assume_role_policy   = local.ecs_tasks_assume_role_policy
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

# =================================================================== execution
resource "aws_iam_role_policy" "execution" {
  name = "gateway-secrets-and-logs"
  role = aws_iam_role.this["execution"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "ReadGatewaySecretsOnly"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = local.app_secret_arns
      },
      merge({ Sid = "DecryptGatewaySecrets" }, local.decrypt_secrets_statement),
      merge({ Sid = "WriteGatewayLogs" }, local.write_logs_statement),
      ], [for st in [
        {
          Sid      = "PullGatewayImage"
          Effect   = "Allow"
          Action   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:BatchImportUpstreamImage"]
          Resource = "arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/${try(regex("^[^/]+/([^:@]+)", var.image)[0], "none")}"
        },
        {
          # GetAuthorizationToken has no resource-level permissions.
          Sid      = "EcrLogin"
          Effect   = "Allow"
          Action   = "ecr:GetAuthorizationToken"
          Resource = "*"
        },
    ] : st if local.image_is_ecr])
  })
}

# =================================================================== task
resource "aws_iam_role_policy" "task_bedrock" {
  name   = "invoke-configured-bedrock-models"
  role   = aws_iam_role.this["task"].id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.bedrock_statements })
}

resource "aws_iam_role_policy" "task_marketplace" {
  count = length(local.marketplace_models) == 0 ? 0 : 1

  name = "subscribe-on-first-model-call"
  role = aws_iam_role.this["task"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "MarketplaceSubscriptionOfThirdPartyModels"
      Effect   = "Allow"
      Action   = ["aws-marketplace:Subscribe", "aws-marketplace:Unsubscribe", "aws-marketplace:ViewSubscriptions"]
      Resource = "*"
    }]
  })
}

resource "aws_iam_role_policy" "task_count_tokens" {
  name   = "count-tokens-for-configured-models"
  role   = aws_iam_role.this["task"].id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.count_tokens_statements })
}

resource "aws_iam_role_policy" "task_config" {
  name = "read-gateway-config"
  role = aws_iam_role.this["task"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadConfigObjectOnly"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = local.config_object_arn
      },
      {
        Sid      = "DecryptConfigObject"
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = "s3.${local.region}.amazonaws.com" }
        }
      },
    ]
  })
}

# =================================================================== db_bootstrap_execution
resource "aws_iam_role_policy" "db_bootstrap_execution" {
  name = "db-bootstrap-secrets-and-logs"
  role = aws_iam_role.this["db_bootstrap_execution"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadMasterAndAppSecret"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = [var.db_master_secret_arn, var.db_app_secret_arn]
      },
      merge({ Sid = "DecryptSecrets" }, local.decrypt_secrets_statement),
      merge({ Sid = "WriteLogs" }, local.write_logs_statement),
    ]
  })
}
