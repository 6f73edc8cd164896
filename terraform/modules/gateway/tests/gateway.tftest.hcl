mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "ap-south-1"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_elb_service_account" {
    defaults = {
      arn = "arn:aws:iam::718504428378:root"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock-role"
    }
  }

  mock_resource "aws_lb" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:ap-south-1:123456789012:loadbalancer/app/llm-gateway-alb/50dc6c495c0c9188"
      arn_suffix = "app/llm-gateway-alb/50dc6c495c0c9188"
      dns_name   = "llm-gateway-alb-123.ap-south-1.elb.amazonaws.com"
    }
  }

  mock_resource "aws_lb_listener" {
    defaults = {
      arn = "arn:aws:elasticloadbalancing:ap-south-1:123456789012:listener/app/llm-gateway-alb/50dc6c495c0c9188/f2f7dc8efc522ab2"
    }
  }

  mock_resource "aws_lb_target_group" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:ap-south-1:123456789012:targetgroup/llm-gateway-tg/73e2d6bc24d8a067"
      arn_suffix = "targetgroup/llm-gateway-tg/73e2d6bc24d8a067"
    }
  }

  mock_resource "aws_ecs_cluster" {
    defaults = {
      arn = "arn:aws:ecs:ap-south-1:123456789012:cluster/llm-gateway"
    }
  }

  mock_resource "aws_ecs_task_definition" {
    defaults = {
      arn = "arn:aws:ecs:ap-south-1:123456789012:task-definition/llm-gateway:1"
    }
  }

  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::llm-gateway-mock-bucket"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:ap-south-1:123456789012:log-group:/ecs/llm-gateway"
    }
  }

  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:ap-south-1:123456789012:llm-gateway-alarms"
    }
  }
}

variables {
  name             = "llm-gateway"
  image            = "ghcr.io/berriai/litellm-database:v1.108.7"
  config_file_path = "tests/fixtures/config.yaml"
  bedrock_model_ids = [
    "global.anthropic.claude-haiku-4-5-20251001-v1:0",
    "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
  ]
  vpc_id                  = "vpc-0123456789abcdef0"
  public_subnet_ids       = ["subnet-0pub1", "subnet-0pub2"]
  private_subnet_ids      = ["subnet-0prv1", "subnet-0prv2"]
  alb_security_group_id   = "sg-0alb"
  tasks_security_group_id = "sg-0tasks"
  certificate_arn         = "arn:aws:acm:ap-south-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"
  kms_key_arn             = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  master_key_secret_arn   = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/litellm-master-key-AbCdEf" # pragma: allowlist secret
  salt_key_secret_arn     = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/litellm-salt-key-AbCdEf"   # pragma: allowlist secret
  db_app_secret_arn       = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/db-app-AbCdEf"             # pragma: allowlist secret
  db_master_secret_arn    = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:rds!db-mock-AbCdEf"                    # pragma: allowlist secret
  db_address              = "db.mock.ap-south-1.rds.amazonaws.com"
  cache = {
    host            = "master.mock.aps1.cache.amazonaws.com"
    port            = 6379
    username        = "llmgw-app"
    auth_secret_arn = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/cache-auth-AbCdEf" # pragma: allowlist secret
  }
}

run "gateway_defaults" {
  command = apply

  # ------------------------------------------------------------ Bedrock IAM
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

  # ------------------------------------------------------------ Spot strategy
  assert {
    condition = (
      length([for s in aws_ecs_service.this.capacity_provider_strategy : s if s.capacity_provider == "FARGATE" && s.base == 1]) == 1 &&
      length([for s in aws_ecs_service.this.capacity_provider_strategy : s if s.capacity_provider == "FARGATE_SPOT" && s.weight > 0 && s.base == 0]) == 1 &&
      sum([for s in aws_ecs_service.this.capacity_provider_strategy : s.weight if s.capacity_provider == "FARGATE"]) == 0
    )
    error_message = "Service must run FARGATE base 1 with FARGATE_SPOT carrying the weight."
  }

  assert {
    condition     = aws_lb_target_group.this.deregistration_delay < 120 && jsondecode(aws_ecs_task_definition.gateway.container_definitions)[0].stopTimeout <= 120
    error_message = "Spot: deregistration delay and stopTimeout must fit the 120 s warning."
  }

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
    condition = (
      contains([for e in jsondecode(aws_ecs_task_definition.gateway.container_definitions)[0].environment : "${e.name}=${e.value}"], "DISABLE_SCHEMA_UPDATE=true") &&
      contains([for e in jsondecode(aws_ecs_task_definition.migrate.container_definitions)[0].environment : "${e.name}=${e.value}"], "DISABLE_SCHEMA_UPDATE=false")
    )
    error_message = "Replicas must not migrate; only the one-off migrate task does."
  }

  assert {
    condition     = contains([for e in jsondecode(aws_ecs_task_definition.gateway.container_definitions)[0].environment : e.name], "LITELLM_CONFIG_SHA256")
    error_message = "Config hash must be in the task definition so config changes roll the service."
  }

  # ------------------------------------------------------------ ALB
  assert {
    condition = (
      aws_lb.this.drop_invalid_header_fields &&
      aws_lb_listener.https.ssl_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06" &&
      aws_lb_listener.http_redirect.default_action[0].type == "redirect" &&
      aws_lb_target_group.this.health_check[0].path == "/health/liveliness"
    )
    error_message = "ALB hardening (TLS policy, redirect-only HTTP, header dropping, health path)."
  }
}

run "rejects_unknown_mantle_project" {
  command = plan

  variables {
    bedrock_mantle_project_id = "*"
  }

  expect_failures = [var.bedrock_mantle_project_id]
}

run "rejects_moving_image_tag" {
  command = plan

  variables {
    image = "ghcr.io/berriai/litellm-database:main-latest"
  }

  expect_failures = [var.image]
}

run "connection_budget_enforced" {
  command = plan

  variables {
    max_tasks        = 8
    workers_per_task = 2
  }

  # 8 * 2 * 2 * 5 + 10 = 170 > 80 - 10
  expect_failures = [aws_ecs_service.this]
}

# ------------------------------------------------------------ admin API (docs/adr/0006)
run "admin_api_closed_to_the_internet_by_default" {
  command = apply

  assert {
    condition = (
      aws_lb_listener.https.default_action[0].type == "fixed-response" &&
      aws_lb_listener.https.default_action[0].fixed_response[0].status_code == "403"
    )
    error_message = "Paths that are not model APIs must get a 403 from the ALB, not reach LiteLLM."
  }

  assert {
    condition     = length(aws_lb_listener_rule.admin_from_allowed_sources) == 0
    error_message = "Without admin_ingress_cidrs no address may reach the admin API."
  }

  assert {
    condition = toset(flatten([for r in aws_lb_listener_rule.public_model_api : tolist(r.condition)[0].path_pattern[0].values])) == toset([
      "/v1/chat/completions", "/chat/completions", "/v1/completions", "/completions",
      "/v1/embeddings", "/embeddings", "/v1/messages", "/v1/messages/count_tokens",
      "/v1/models", "/models", "/health/liveliness", "/health/readiness",
    ])
    error_message = "Exactly the model-API paths are forwarded from anywhere."
  }

  assert {
    condition = alltrue([
      for r in aws_lb_listener_rule.public_model_api :
      length(tolist(r.condition)[0].path_pattern[0].values) <= 5 &&
      alltrue([for p in tolist(r.condition)[0].path_pattern[0].values : !strcontains(p, "*") && !strcontains(p, "?")]) &&
      r.action[0].type == "forward" && r.priority >= 100
    ])
    error_message = "Public rules: exact paths (no wildcard can cover an admin route), at most 5 per rule, forward only."
  }

  assert {
    condition = length([
      for p in flatten([for r in aws_lb_listener_rule.public_model_api : tolist(r.condition)[0].path_pattern[0].values]) : p
      if can(regex("^/(key|user|team|budget|spend|global|ui|model|sso|config|organization|customer)(/|$)", p))
    ]) == 0
    error_message = "No admin route (/key, /user, /team, /budget, /spend, /global, /ui, /model, ...) may be public."
  }
}

run "admin_api_from_the_allow_list_only" {
  command = apply

  variables {
    admin_ingress_cidrs = ["203.0.113.10/32", "203.0.113.11/32", "198.51.100.0/28", "192.0.2.1/32", "192.0.2.2/32", "192.0.2.3/32", "10.20.0.0/16"]
  }

  assert {
    condition     = length(aws_lb_listener_rule.admin_from_allowed_sources) == 2
    error_message = "7 CIDRs need 2 rules of at most 5 source-ip values."
  }

  assert {
    condition = toset(flatten([for r in aws_lb_listener_rule.admin_from_allowed_sources : tolist(r.condition)[0].source_ip[0].values])) == toset(var.admin_ingress_cidrs) && alltrue([
      for r in aws_lb_listener_rule.admin_from_allowed_sources :
      length(tolist(r.condition)[0].source_ip[0].values) <= 5 && r.action[0].type == "forward" && r.priority < 100
    ])
    error_message = "Every allowed CIDR, and only those, reaches every path; admin rules are evaluated before the public ones."
  }

  assert {
    condition     = aws_lb_listener.https.default_action[0].fixed_response[0].status_code == "403"
    error_message = "Everyone else still gets 403 on admin paths."
  }
}

run "rejects_admin_api_on_the_internet" {
  command = plan

  variables {
    admin_ingress_cidrs = ["0.0.0.0/0"]
  }

  expect_failures = [var.admin_ingress_cidrs]
}

run "rejects_wildcard_public_path" {
  command = plan

  variables {
    public_paths = ["/v1/*"]
  }

  expect_failures = [var.public_paths]
}

run "rejects_admin_route_as_public_path" {
  command = plan

  variables {
    public_paths = ["/v1/chat/completions", "/key/generate"]
  }

  expect_failures = [var.public_paths]
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
}

run "rejects_moving_tag_even_with_a_digest" {
  command = plan

  variables {
    image = "ghcr.io/berriai/litellm-database:main-latest@sha256:0000000000000000000000000000000000000000000000000000000000000001"
  }

  expect_failures = [var.image]
}
