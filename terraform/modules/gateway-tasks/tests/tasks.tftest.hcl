# What the tasks run: secrets only by reference, replicas never migrate, config changes roll.

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  name                  = "llm-gateway"
  image                 = "ghcr.io/berriai/litellm-database:v1.108.7"
  config_file_path      = "tests/fixtures/config.yaml"
  config_bucket         = "llm-gateway-config-123"
  kms_key_arn           = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  master_key_secret_arn = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/litellm-master-key-AbCdEf" # pragma: allowlist secret
  salt_key_secret_arn   = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/litellm-salt-key-AbCdEf"   # pragma: allowlist secret
  db_app_secret_arn     = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/db-app-AbCdEf"             # pragma: allowlist secret
  db_master_secret_arn  = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:rds!db-mock-AbCdEf"                    # pragma: allowlist secret
  db_address            = "db.mock.ap-south-1.rds.amazonaws.com"
  bedrock_model_ids     = ["global.anthropic.claude-haiku-4-5-20251001-v1:0"]
  cache = {
    host            = "master.mock.aps1.cache.amazonaws.com"
    port            = 6379
    username        = "llmgw-app"
    auth_secret_arn = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/cache-auth-AbCdEf" # pragma: allowlist secret
  }
}

run "task_definitions" {
  command = apply

  # ------------------------------------------------------------ secrets
  assert {
    condition = alltrue([
      for c in jsondecode(aws_ecs_task_definition.gateway.container_definitions) :
      toset([for s in c.secrets : s.name]) == toset(["LITELLM_MASTER_KEY", "LITELLM_SALT_KEY", "DATABASE_URL", "REDIS_PASSWORD"]) &&
      alltrue([for s in c.secrets : startswith(s.valueFrom, "arn:aws:secretsmanager:")])
    ])
    error_message = "Secrets must be injected with valueFrom Secrets Manager ARNs."
  }

  assert {
    condition = alltrue([
      for td in [aws_ecs_task_definition.gateway, aws_ecs_task_definition.migrate, aws_ecs_task_definition.db_bootstrap] :
      alltrue([
        for c in jsondecode(td.container_definitions) : alltrue([
          for e in try(c.environment, []) :
          !contains(["LITELLM_MASTER_KEY", "LITELLM_SALT_KEY", "DATABASE_URL", "REDIS_PASSWORD", "PGPASSWORD", "APP_PASSWORD"], e.name)
          && !can(regex("(?i)(sk-[a-z0-9]|postgres(ql)?://)", e.value))
        ])
      ])
    ])
    error_message = "No secret may appear in a plain environment variable."
  }

  assert {
    condition = output.gateway_secret_arns == tolist([
      var.master_key_secret_arn, var.salt_key_secret_arn, var.db_app_secret_arn, var.cache.auth_secret_arn,
    ])
    error_message = "gateway_secret_arns lists exactly the secrets the gateway and migrate tasks reference (what their execution role may read)."
  }

  # ------------------------------------------------------------ migrations
  assert {
    condition = (
      contains([for e in jsondecode(aws_ecs_task_definition.gateway.container_definitions)[0].environment : "${e.name}=${e.value}"], "DISABLE_SCHEMA_UPDATE=true") &&
      contains([for e in jsondecode(aws_ecs_task_definition.migrate.container_definitions)[0].environment : "${e.name}=${e.value}"], "DISABLE_SCHEMA_UPDATE=false")
    )
    error_message = "Replicas must not migrate; only the one-off migrate task does."
  }

  # ------------------------------------------------------------ config
  assert {
    condition = contains(
      [for e in jsondecode(aws_ecs_task_definition.gateway.container_definitions)[0].environment : "${e.name}=${e.value}"],
      "LITELLM_CONFIG_SHA256=${filesha256("tests/fixtures/config.yaml")}"
    )
    error_message = "Config hash must be in the task definition so config changes roll the service."
  }

  assert {
    condition = (
      aws_s3_object.config.bucket == var.config_bucket && aws_s3_object.config.kms_key_id == var.kms_key_arn &&
      output.config_object_arn == "arn:aws:s3:::llm-gateway-config-123/litellm/config.yaml"
    )
    error_message = "The config is uploaded KMS-encrypted, to the object the task role may read."
  }

  # ------------------------------------------------------------ Spot
  assert {
    condition     = jsondecode(aws_ecs_task_definition.gateway.container_definitions)[0].stopTimeout <= 120
    error_message = "Spot: stopTimeout must fit the 120 s warning."
  }

  # ------------------------------------------------------------ db-bootstrap
  assert {
    condition = (
      aws_ecs_task_definition.db_bootstrap.execution_role_arn == aws_iam_role.this["db_bootstrap_execution"].arn &&
      aws_ecs_task_definition.db_bootstrap.task_role_arn == null &&
      jsondecode(aws_ecs_task_definition.db_bootstrap.container_definitions)[0].readonlyRootFilesystem &&
      jsondecode(aws_ecs_task_definition.db_bootstrap.container_definitions)[0].command == [file("db-bootstrap.sh")]
    )
    error_message = "db-bootstrap runs db-bootstrap.sh read-only, with its own execution role and no task role."
  }
}

run "without_cache" {
  command = apply

  variables {
    cache = null
  }

  assert {
    condition = (
      !strcontains(aws_ecs_task_definition.gateway.container_definitions, "REDIS_") &&
      output.gateway_secret_arns == tolist([var.master_key_secret_arn, var.salt_key_secret_arn, var.db_app_secret_arn])
    )
    error_message = "Without a cache, no Redis setting and no cache secret."
  }
}

run "rejects_moving_image_tag" {
  command = plan

  variables {
    image = "ghcr.io/berriai/litellm-database:main-latest"
  }

  expect_failures = [var.image]
}

# ------------------------------------------------------------ images pinned by digest (issue #10)
run "images_pinned_by_tag_and_digest_are_accepted" {
  command = plan

  variables {
    # The form name:tag@sha256:<digest>; test inputs, not the real digests of these images.
    image              = "ghcr.io/berriai/litellm-database:v1.108.7@sha256:0000000000000000000000000000000000000000000000000000000000000001"
    migration_image    = "ghcr.io/berriai/litellm-database:v1.108.8@sha256:0000000000000000000000000000000000000000000000000000000000000003"
    db_bootstrap_image = "public.ecr.aws/docker/library/postgres:17.6-alpine@sha256:0000000000000000000000000000000000000000000000000000000000000002"
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.db_bootstrap.container_definitions)[0].image == var.db_bootstrap_image
    error_message = "The bootstrap task runs the digest-pinned image."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.migrate.container_definitions)[0].image == var.migration_image
    error_message = "During an upgrade the migrate task runs the new image first."
  }
}

run "rejects_moving_tag_even_with_a_digest" {
  command = plan

  variables {
    image = "ghcr.io/berriai/litellm-database:main-latest@sha256:0000000000000000000000000000000000000000000000000000000000000001"
  }

  expect_failures = [var.image]
}
