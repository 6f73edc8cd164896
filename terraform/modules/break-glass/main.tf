# The break-glass path of docs/runbook.md ("Emergency revoke"): a role that the listed people can
# assume, which may do one thing: start the break-glass ECS task, which blocks the keys of one alias
# on LiteLLM from inside the VPC (the admin API is on no public address, ADR 0006). The master key
# goes from Secrets Manager into that task's container (ECS, through the task's execution role) and
# nowhere else: the role reads no secret, no log and no key.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  ecs_arn         = "arn:${local.partition}:ecs:${local.region}:${local.account_id}"
  cluster_name    = regex("cluster/(.+)$", var.cluster_arn)[0]
  family          = "${var.name}-break-glass"
  container_name  = "block-key"
  image_is_ecr    = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.", var.image))
  trusted_account = distinct([for arn in var.trusted_principal_arns : regex("^arn:[^:]+:iam::([0-9]{12}):", arn)[0]])
}

# ------------------------------------------------------------------ the people's role
resource "aws_iam_role" "break_glass" {
  name                 = "${var.name}-break-glass"
  description          = "Emergency revoke: runs the break-glass task (docs/runbook.md), nothing else"
  max_session_duration = 3600
  permissions_boundary = var.permissions_boundary
  # Identity Center re-creates a permission set's role with a new suffix, so the trust names the
  # roles by aws:PrincipalArn (a trailing * allowed) rather than as principals.
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "OnlyTheListedPrincipals"
      Effect    = "Allow"
      Principal = { AWS = [for account in local.trusted_account : "arn:${local.partition}:iam::${account}:root"] }
      Action    = "sts:AssumeRole"
      Condition = { ArnLike = { "aws:PrincipalArn" = var.trusted_principal_arns } }
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "break_glass" {
  name = "run-the-break-glass-task-only"
  role = aws_iam_role.break_glass.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "RunTheBreakGlassTaskInTheGatewayCluster"
        Effect    = "Allow"
        Action    = "ecs:RunTask"
        Resource  = "${local.ecs_arn}:task-definition/${local.family}:*"
        Condition = { ArnEquals = { "ecs:cluster" = var.cluster_arn } }
      },
      {
        Sid       = "PassItsExecutionRoleToEcsOnly"
        Effect    = "Allow"
        Action    = "iam:PassRole"
        Resource  = aws_iam_role.task_execution.arn
        Condition = { StringEquals = { "iam:PassedToService" = "ecs-tasks.amazonaws.com" } }
      },
      {
        # The outcome is the container's exit code (block-key.py); no log reading.
        Sid       = "SeeHowTheTaskEnded"
        Effect    = "Allow"
        Action    = "ecs:DescribeTasks"
        Resource  = "${local.ecs_arn}:task/${local.cluster_name}/*"
        Condition = { ArnEquals = { "ecs:cluster" = var.cluster_arn } }
      },
    ]
  })
}

# ------------------------------------------------------------------ the task
# Its execution role starts it: reads the master key (and no other secret), writes its logs.
resource "aws_iam_role" "task_execution" {
  name                 = "${var.name}-break-glass-task-execution"
  description          = "Starts the break-glass task: the master key into its container, its logs"
  permissions_boundary = var.permissions_boundary
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "task_execution" {
  name = "master-key-and-logs"
  role = aws_iam_role.task_execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "ReadTheMasterKeyOnly"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = var.master_key_secret_arn
      },
      {
        Sid       = "DecryptThroughSecretsManagerOnly"
        Effect    = "Allow"
        Action    = "kms:Decrypt"
        Resource  = var.kms_key_arn
        Condition = { StringEquals = { "kms:ViaService" = "secretsmanager.${local.region}.amazonaws.com" } }
      },
      {
        Sid      = "WriteItsLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${var.log_group_arn}:*"
      },
      ], [for st in [
        {
          Sid      = "PullTheImage"
          Effect   = "Allow"
          Action   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
          Resource = "arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/${try(regex("^[^/]+/([^:@]+)", var.image)[0], "none")}"
        },
        {
          Sid      = "EcrLogin"
          Effect   = "Allow"
          Action   = "ecr:GetAuthorizationToken"
          Resource = "*"
        },
    ] : st if local.image_is_ecr])
  })
}

# No task role: block-key.py calls only LiteLLM. The key alias comes as a container override.
resource "aws_ecs_task_definition" "break_glass" {
  family                   = local.family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.task_execution.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([{
    name                   = local.container_name
    image                  = var.image
    essential              = true
    readonlyRootFilesystem = true
    entryPoint             = ["python3", "-c"]
    command                = [file("${path.module}/block-key.py")]
    environment = [
      { name = "LITELLM_ADMIN_URL", value = var.admin_url },
      { name = "KEY_ALIAS", value = "" },
    ]
    secrets = [{ name = "LITELLM_MASTER_KEY", valueFrom = var.master_key_secret_arn }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = var.log_group_name
        "awslogs-region"        = local.region
        "awslogs-stream-prefix" = "break-glass"
      }
    }
  }])

  tags = var.tags
}

# ------------------------------------------------------------------ its network
resource "aws_security_group" "break_glass" {
  #checkov:skip=CKV2_AWS_5:Attached to the task at run time (aws ecs run-task --network-configuration), which checkov cannot see
  name        = "${var.name}-break-glass"
  description = "LLM gateway break-glass task: admin API of the tasks, HTTPS out"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-break-glass" })
}

resource "aws_vpc_security_group_egress_rule" "to_tasks" {
  security_group_id            = aws_security_group.break_glass.id
  description                  = "LiteLLM admin API on the gateway tasks"
  ip_protocol                  = "tcp"
  from_port                    = var.proxy_port
  to_port                      = var.proxy_port
  referenced_security_group_id = var.tasks_security_group_id
}

# Fargate pulls the image, fetches the secret and ships the logs over the task's own interface.
resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.break_glass.id
  description       = "HTTPS via NAT to the image registry, Secrets Manager and CloudWatch Logs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_break_glass" {
  security_group_id            = var.tasks_security_group_id
  description                  = "Proxy port (LiteLLM admin API) from the break-glass task only"
  ip_protocol                  = "tcp"
  from_port                    = var.proxy_port
  to_port                      = var.proxy_port
  referenced_security_group_id = aws_security_group.break_glass.id
}
