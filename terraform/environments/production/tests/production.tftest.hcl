# Whole production stack against the mock provider (no AWS account needed).

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  certificate_arn       = "arn:aws:acm:ap-south-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"
  github_repository     = "example-org/llm-gateway-gitops"
  github_connection_arn = "arn:aws:codeconnections:ap-south-1:123456789012:connection/0f0e0d0c-0b0a-0908-0706-050403020100"
}

run "default_stack_applies" {
  command = apply

  assert {
    condition     = output.bedrock_model_ids == sort(distinct([for a, m in yamldecode(file("../../../policies/models.yaml")).models : m.bedrock_model_id]))
    error_message = "Task role models must come from policies/models.yaml."
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
