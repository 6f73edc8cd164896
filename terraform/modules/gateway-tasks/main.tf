# What the gateway's ECS tasks run: the LiteLLM config object they read at start-up, the log group
# they write to, and three task definitions: the gateway itself (the service's), the one-off schema
# migration and the one-off database bootstrap; their IAM roles are in roles.tf. Secrets reach the
# containers only as valueFrom references to Secrets Manager, never as plain environment values.

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  region         = data.aws_region.current.name
  container_name = "litellm"
  config_sha256  = filesha256(var.config_file_path)
  # The one object the task role may read.
  config_object_arn = "arn:${data.aws_partition.current.partition}:s3:::${aws_s3_object.config.bucket}/${aws_s3_object.config.key}"

  cache_secrets = var.cache == null ? [] : [
    { name = "REDIS_PASSWORD", valueFrom = "${var.cache.auth_secret_arn}:password::" },
  ]
  app_secrets = concat([
    { name = "LITELLM_MASTER_KEY", valueFrom = var.master_key_secret_arn },
    { name = "LITELLM_SALT_KEY", valueFrom = var.salt_key_secret_arn },
    { name = "DATABASE_URL", valueFrom = "${var.db_app_secret_arn}:DATABASE_URL::" },
  ], local.cache_secrets)
  # The secrets behind app_secrets, which the execution role may read (and no others).
  app_secret_arns = compact([
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
    { name = "LITELLM_CONFIG_BUCKET_NAME", value = aws_s3_object.config.bucket },
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
  ], local.cache_environment, local.guardrail_environment)

  log_configuration = {
    logDriver = "awslogs"
    options = {
      "awslogs-group"         = aws_cloudwatch_log_group.this.name
      "awslogs-region"        = local.region
      "awslogs-stream-prefix" = "ecs"
    }
  }

  # Every task definition here is a Fargate task on x86-64 Linux in awsvpc mode.
  runtime_platform = {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
}

resource "aws_s3_object" "config" {
  bucket       = var.config_bucket
  key          = var.config_object_key
  source       = var.config_file_path
  source_hash  = local.config_sha256
  content_type = "application/yaml"
  kms_key_id   = var.kms_key_arn
  tags         = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_ecs_task_definition" "gateway" {
  #checkov:skip=CKV_AWS_336:LiteLLM generates the Prisma client and writes temp files under /app at start-up, so the root filesystem cannot be read-only
  family                   = "${var.name}-gateway"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.this["execution"].arn
  task_role_arn            = aws_iam_role.this["task"].arn

  runtime_platform {
    operating_system_family = local.runtime_platform.operating_system_family
    cpu_architecture        = local.runtime_platform.cpu_architecture
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

# One-off schema migration. Run by terraform/scripts/bootstrap-secrets before the service is scaled
# up and before every image upgrade. Never runs as a service, so it cannot race the replicas.
resource "aws_ecs_task_definition" "migrate" {
  #checkov:skip=CKV_AWS_336:Prisma migrate writes the generated client and migration files under /app
  family                   = "${var.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.this["execution"].arn
  task_role_arn            = aws_iam_role.this["task"].arn

  runtime_platform {
    operating_system_family = local.runtime_platform.operating_system_family
    cpu_architecture        = local.runtime_platform.cpu_architecture
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

# One-off database bootstrap: creates the application role with the password that bootstrap-secrets
# wrote to the app secret, as the RDS master user.
resource "aws_ecs_task_definition" "db_bootstrap" {
  family                   = "${var.name}-db-bootstrap"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.this["db_bootstrap_execution"].arn

  runtime_platform {
    operating_system_family = local.runtime_platform.operating_system_family
    cpu_architecture        = local.runtime_platform.cpu_architecture
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
