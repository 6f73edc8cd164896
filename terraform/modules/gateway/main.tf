data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_elb_service_account" "this" {}

locals {
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

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  container_name = "litellm"
  config_sha256  = filesha256(var.config_file_path)
  image_is_ecr   = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.", var.image))

  # An ALB rule matches at most 5 condition values.
  admin_cidr_chunks  = chunklist(var.admin_ingress_cidrs, 5)
  public_path_chunks = chunklist(var.public_paths, 5)

  # Connection budget (see docs/architecture.md#connection-budget).
  peak_gateway_connections = ceil(var.max_tasks * var.deployment_maximum_percent / 100) * var.workers_per_task * var.db_pool_limit
  peak_db_connections      = local.peak_gateway_connections + var.extra_db_connections

  # ---------------------------------------------------------------- secrets
  cache_secrets = var.cache == null ? [] : [
    { name = "REDIS_PASSWORD", valueFrom = "${var.cache.auth_secret_arn}:password::" },
  ]
  app_secrets = concat([
    { name = "LITELLM_MASTER_KEY", valueFrom = var.master_key_secret_arn },
    { name = "LITELLM_SALT_KEY", valueFrom = var.salt_key_secret_arn },
    { name = "DATABASE_URL", valueFrom = "${var.db_app_secret_arn}:DATABASE_URL::" },
  ], local.cache_secrets)

  gateway_secret_arns = compact([
    var.master_key_secret_arn,
    var.salt_key_secret_arn,
    var.db_app_secret_arn,
    try(var.cache.auth_secret_arn, ""),
  ])

  cache_environment = var.cache == null ? [] : [
    { name = "REDIS_HOST", value = var.cache.host },
    { name = "REDIS_PORT", value = tostring(var.cache.port) },
    { name = "REDIS_USERNAME", value = var.cache.username },
    { name = "REDIS_SSL", value = "True" },
  ]

  common_environment = concat([
    { name = "LITELLM_CONFIG_BUCKET_NAME", value = aws_s3_bucket.config.bucket },
    { name = "LITELLM_CONFIG_BUCKET_OBJECT_KEY", value = aws_s3_object.config.key },
    # Changes whenever gateway/config.yaml changes, so a new task definition
    # revision is registered and the service rolls.
    { name = "LITELLM_CONFIG_SHA256", value = local.config_sha256 },
    { name = "AWS_REGION", value = local.region },
    { name = "AWS_REGION_NAME", value = local.region },
    { name = "LITELLM_LOG", value = "INFO" },
    { name = "JSON_LOGS", value = "True" },
    # Use the model cost map bundled in the image instead of fetching it from GitHub.
    { name = "LITELLM_LOCAL_MODEL_COST_MAP", value = "True" },
  ], local.cache_environment)

  log_configuration = {
    logDriver = "awslogs"
    options = {
      "awslogs-group"         = aws_cloudwatch_log_group.this.name
      "awslogs-region"        = local.region
      "awslogs-stream-prefix" = "ecs"
    }
  }

  # ---------------------------------------------------------------- bedrock
  profile_prefix_regex = "^(global|us|eu|apac|jp|au|ca|us-gov)\\."
  models = {
    for id in var.bedrock_model_ids : id => {
      prefix      = try(regex(local.profile_prefix_regex, id)[0], null)
      fm_id       = replace(id, "/${local.profile_prefix_regex}/", "")
      profile_arn = "arn:${local.partition}:bedrock:${local.region}:${local.account_id}:inference-profile/${id}"
    }
  }
  invoke_actions = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]

  profile_models = { for id, m in local.models : id => m if m.prefix != null }
  global_models  = { for id, m in local.models : id => m if m.prefix == "global" }
  direct_models  = { for id, m in local.models : id => m if m.prefix == null }

  bedrock_statements = concat(
    length(local.profile_models) == 0 ? [] : [{
      Sid      = "InvokeConfiguredInferenceProfiles"
      Effect   = "Allow"
      Action   = local.invoke_actions
      Resource = sort([for m in values(local.profile_models) : m.profile_arn])
    }],
    [for id in sort(keys(local.profile_models)) : {
      Sid      = "InvokeRegionalModelViaProfile${index(sort(keys(local.profile_models)), id)}"
      Effect   = "Allow"
      Action   = local.invoke_actions
      Resource = "arn:${local.partition}:bedrock:*::foundation-model/${local.models[id].fm_id}"
      Condition = {
        StringEquals = { "bedrock:InferenceProfileArn" = local.models[id].profile_arn }
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
          "bedrock:InferenceProfileArn" = local.models[id].profile_arn
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

# =================================================================== S3: config
resource "aws_s3_bucket" "config" {
  #checkov:skip=CKV_AWS_144:Config is reproducible from git; cross-region replication is not needed
  #checkov:skip=CKV2_AWS_62:No consumer for object events; tasks read the object at start-up
  bucket_prefix = "${var.name}-config-"
  force_destroy = var.force_destroy_buckets
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "config" {
  bucket                  = aws_s3_bucket.config.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "config" {
  bucket = aws_s3_bucket.config.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "config" {
  bucket = aws_s3_bucket.config.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "config" {
  bucket = aws_s3_bucket.config.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "config" {
  bucket = aws_s3_bucket.config.id
  rule {
    id     = "expire-old-config-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_logging" "config" {
  bucket        = aws_s3_bucket.config.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3-access/config/"

  # S3 checks that the target bucket lets the logging service write, which only its policy does.
  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_s3_bucket_policy" "config" {
  bucket = aws_s3_bucket.config.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.config.arn, "${aws_s3_bucket.config.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  depends_on = [aws_s3_bucket_public_access_block.config]
}

resource "aws_s3_object" "config" {
  bucket       = aws_s3_bucket.config.id
  key          = var.config_object_key
  source       = var.config_file_path
  source_hash  = local.config_sha256
  content_type = "application/yaml"
  kms_key_id   = var.kms_key_arn
  tags         = var.tags

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.config]
}

# =================================================================== S3: logs
# ALB access-log delivery only supports SSE-S3 (AES256), not SSE-KMS, so this
# bucket deliberately uses S3-managed keys. It also receives S3 server access
# logs of the config bucket.
resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_145:ALB access-log delivery supports only SSE-S3 (AES256), not SSE-KMS
  #checkov:skip=CKV_AWS_18:This is the access-log sink; logging it to itself would loop
  #checkov:skip=CKV_AWS_144:Access logs are not replicated cross-region (cost); retention is handled by lifecycle
  #checkov:skip=CKV2_AWS_62:No consumer for object events on the log sink
  bucket_prefix = "${var.name}-logs-"
  force_destroy = var.force_destroy_buckets
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.access_log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        # ap-south-1 predates Aug 2022, so delivery uses the regional ELB account.
        Sid       = "AlbAccessLogDelivery"
        Effect    = "Allow"
        Principal = { AWS = data.aws_elb_service_account.this.arn }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs.arn}/alb/AWSLogs/${local.account_id}/*"
      },
      {
        Sid       = "S3ServerAccessLogDelivery"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs.arn}/s3-access/*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = aws_s3_bucket.config.arn }
        }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.logs]
}

# =================================================================== ALB
resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:WAF is an optional add-on (cost); all routes require a LiteLLM virtual key and the ALB accepts only HTTPS
  name                       = substr("${var.name}-alb", 0, 32)
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [var.alb_security_group_id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.alb_deletion_protection
  idle_timeout               = var.alb_idle_timeout

  access_logs {
    bucket  = aws_s3_bucket.logs.id
    prefix  = "alb"
    enabled = true
  }

  tags = var.tags

  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS terminates at the ALB; ALB->task hop is HTTP inside private subnets restricted by the SG chain
  name                 = substr("${var.name}-tg", 0, 32)
  port                 = var.proxy_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay

  health_check {
    path                = "/health/liveliness"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

# Only the model APIs are on the internet (docs/adr/0006-admin-api-not-on-the-internet.md). The
# listener forwards (1) every path from admin_ingress_cidrs, where the reconciler runs, (2) the exact
# model-API paths in public_paths from any client the security group admits, and answers 403 to
# everything else: LiteLLM's admin API (/key/*, /user/*, /team/*, /budget/*, /spend/*, /ui, ...) is
# unreachable with a leaked master key from anywhere else.
resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "application/json"
      status_code  = "403"
      message_body = jsonencode({ error = { type = "forbidden", message = "not served from this address: the LiteLLM admin API is reachable only from the gateway's admin_ingress_cidrs (docs/adr/0006-admin-api-not-on-the-internet.md)" } })
    }
  }

  tags = var.tags
}

resource "aws_lb_listener_rule" "admin_from_allowed_sources" {
  count = length(local.admin_cidr_chunks)

  listener_arn = aws_lb_listener.https.arn
  priority     = 10 + count.index

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  condition {
    source_ip {
      values = local.admin_cidr_chunks[count.index]
    }
  }

  tags = var.tags
}

resource "aws_lb_listener_rule" "public_model_api" {
  count = length(local.public_path_chunks)

  listener_arn = aws_lb_listener.https.arn
  priority     = 100 + count.index

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  condition {
    path_pattern {
      values = local.public_path_chunks[count.index]
    }
  }

  tags = var.tags
}

resource "aws_lb_listener" "http_redirect" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }

  tags = var.tags
}

# =================================================================== logs
resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# =================================================================== IAM
resource "aws_iam_role" "execution" {
  name               = "${var.name}-ecs-execution"
  assume_role_policy = local.ecs_tasks_assume_role_policy
  tags               = var.tags
}

resource "aws_iam_role_policy" "execution" {
  name = "gateway-secrets-and-logs"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "ReadGatewaySecretsOnly"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = local.gateway_secret_arns
      },
      {
        Sid      = "DecryptGatewaySecrets"
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = "secretsmanager.${local.region}.amazonaws.com" }
        }
      },
      {
        Sid      = "WriteGatewayLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.this.arn}:*"
      },
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

resource "aws_iam_role" "task" {
  name               = "${var.name}-ecs-task"
  assume_role_policy = local.ecs_tasks_assume_role_policy
  tags               = var.tags
}

resource "aws_iam_role_policy" "task_bedrock" {
  name   = "invoke-configured-bedrock-models"
  role   = aws_iam_role.task.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.bedrock_statements })
}

resource "aws_iam_role_policy" "task_count_tokens" {
  name   = "count-tokens-for-configured-models"
  role   = aws_iam_role.task.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.count_tokens_statements })
}

resource "aws_iam_role_policy" "task_config" {
  name = "read-gateway-config"
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadConfigObjectOnly"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "${aws_s3_bucket.config.arn}/${aws_s3_object.config.key}"
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

# =================================================================== ECS
resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = var.tags
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    base              = 1
    weight            = 0
  }

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE_SPOT"
    weight            = 1
  }
}

resource "aws_ecs_task_definition" "gateway" {
  #checkov:skip=CKV_AWS_336:LiteLLM generates the Prisma client and writes temp files under /app at start-up, so the root filesystem cannot be read-only
  family                   = "${var.name}-gateway"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([{
    name      = local.container_name
    image     = var.image
    essential = true
    # With several workers uvicorn kills a worker that misses its 5 s health ping while still
    # importing LiteLLM (seen on a busy 2-vCPU host); allow it 120 s to come up.
    command = ["--port", tostring(var.proxy_port), "--num_workers", tostring(var.workers_per_task), "--timeout_worker_healthcheck", "120"]
    portMappings = [{
      containerPort = var.proxy_port
      protocol      = "tcp"
    }]
    environment = concat(local.common_environment, [
      # Replicas never migrate the schema; the one-off migrate task does.
      { name = "DISABLE_SCHEMA_UPDATE", value = "true" },
    ])
    secrets = local.app_secrets
    # Fargate Spot gives a 2-minute warning; stopTimeout (max 120 s) lets
    # in-flight streaming responses finish after SIGTERM.
    stopTimeout = var.stop_timeout
    healthCheck = {
      command     = ["CMD-SHELL", "python3 -c \"import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:${var.proxy_port}/health/liveliness', timeout=4)\" || exit 1"]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 90
    }
    logConfiguration = local.log_configuration
  }])

  tags = var.tags
}

# One-off schema migration. Run by terraform/scripts/bootstrap-gateway before the
# service is scaled up and before every image upgrade. Never runs as a service,
# so it cannot race the replicas.
resource "aws_ecs_task_definition" "migrate" {
  #checkov:skip=CKV_AWS_336:Prisma migrate writes the generated client and migration files under /app
  family                   = "${var.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([{
    name      = "migrate"
    image     = coalesce(var.migration_image, var.image)
    essential = true
    command   = ["--skip_server_startup"]
    environment = concat(local.common_environment, [
      { name = "DISABLE_SCHEMA_UPDATE", value = "false" },
      { name = "USE_PRISMA_MIGRATE", value = "True" },
    ])
    secrets          = local.app_secrets
    logConfiguration = local.log_configuration
  }])

  tags = var.tags
}

# One-off database bootstrap: creates the application role with the password
# that bootstrap-secrets wrote to the app secret. Uses the RDS-managed master
# secret, which only this task's execution role may read.
resource "aws_iam_role" "db_bootstrap_execution" {
  name               = "${var.name}-db-bootstrap-execution"
  assume_role_policy = local.ecs_tasks_assume_role_policy
  tags               = var.tags
}

resource "aws_iam_role_policy" "db_bootstrap_execution" {
  name = "db-bootstrap-secrets-and-logs"
  role = aws_iam_role.db_bootstrap_execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadMasterAndAppSecret"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = [var.db_master_secret_arn, var.db_app_secret_arn]
      },
      {
        Sid      = "DecryptSecrets"
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = "secretsmanager.${local.region}.amazonaws.com" }
        }
      },
      {
        Sid      = "WriteLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.this.arn}:*"
      },
    ]
  })
}

resource "aws_ecs_task_definition" "db_bootstrap" {
  family                   = "${var.name}-db-bootstrap"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.db_bootstrap_execution.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([{
    name                   = "db-bootstrap"
    image                  = var.db_bootstrap_image
    essential              = true
    readonlyRootFilesystem = true
    entryPoint             = ["sh", "-c"]
    command                = [file("${path.module}/db-bootstrap.sh")]
    environment = [
      { name = "PGHOST", value = var.db_address },
      { name = "PGPORT", value = tostring(var.db_port) },
      { name = "PGDATABASE", value = var.db_name },
      { name = "PGSSLMODE", value = "require" },
    ]
    secrets = [
      { name = "PGUSER", valueFrom = "${var.db_master_secret_arn}:username::" },
      { name = "PGPASSWORD", valueFrom = "${var.db_master_secret_arn}:password::" },
      { name = "APP_USERNAME", valueFrom = "${var.db_app_secret_arn}:username::" },
      { name = "APP_PASSWORD", valueFrom = "${var.db_app_secret_arn}:password::" },
    ]
    logConfiguration = local.log_configuration
  }])

  tags = var.tags
}

resource "aws_ecs_service" "this" {
  name                               = var.name
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.gateway.arn
  desired_count                      = var.paused ? 0 : var.min_tasks
  platform_version                   = "LATEST"
  deployment_maximum_percent         = var.deployment_maximum_percent
  deployment_minimum_healthy_percent = 100
  health_check_grace_period_seconds  = 120
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"
  enable_execute_command             = false

  # Always one on-demand task; everything above it goes to Spot.
  capacity_provider_strategy {
    capacity_provider = "FARGATE"
    base              = 1
    weight            = 0
  }

  capacity_provider_strategy {
    capacity_provider = "FARGATE_SPOT"
    base              = 0
    weight            = 1
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [var.tasks_security_group_id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = local.container_name
    container_port   = var.proxy_port
  }

  tags = var.tags

  lifecycle {
    ignore_changes = [desired_count]

    precondition {
      condition     = local.peak_db_connections <= var.db_max_connections - var.db_reserved_connections
      error_message = "Connection budget exceeded: peak ${local.peak_db_connections} > ${var.db_max_connections} - ${var.db_reserved_connections} reserved."
    }
  }

  depends_on = [aws_lb_listener.https, aws_lb_listener_rule.public_model_api, aws_ecs_cluster_capacity_providers.this]
}

# =================================================================== autoscaling
resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.paused ? 0 : var.min_tasks
  max_capacity       = var.paused ? 0 : var.max_tasks
  tags               = var.tags
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "requests" {
  name               = "${var.name}-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.requests_per_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.this.arn_suffix}/${aws_lb_target_group.this.arn_suffix}"
    }
  }
}
