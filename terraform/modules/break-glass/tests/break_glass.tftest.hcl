# The break-glass role: only the listed principals may assume it, it carries the boundary, and it may
# start the break-glass task and nothing else; the task reads the master key and no other secret; the
# tasks admit the break-glass security group on the proxy port and nothing more.

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  name = "llm-gateway"
  trusted_principal_arns = [
    "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/ap-south-1/AWSReservedSSO_GatewayBreakGlass_*",
  ]
  cluster_arn             = "arn:aws:ecs:ap-south-1:123456789012:cluster/llm-gateway"
  vpc_id                  = "vpc-0123456789abcdef0"
  subnet_ids              = ["subnet-0prv1", "subnet-0prv2"]
  tasks_security_group_id = "sg-0tasks"
  admin_url               = "http://litellm.gateway.internal:4000"
  image                   = "ghcr.io/berriai/litellm:main-v1.108.7-stable"
  master_key_secret_arn   = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/litellm-master-key-AbCdEf" # pragma: allowlist secret
  kms_key_arn             = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  log_group_name          = "/ecs/llm-gateway"
  log_group_arn           = "arn:aws:logs:ap-south-1:123456789012:log-group:/ecs/llm-gateway"
  permissions_boundary    = "arn:aws:iam::123456789012:policy/llm-gateway-boundary"
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}

override_data {
  target = data.aws_region.current
  values = { name = "ap-south-1" }
}

override_resource {
  target = aws_iam_role.task_execution
  values = { arn = "arn:aws:iam::123456789012:role/llm-gateway-break-glass-task-execution" }
}

override_resource {
  target = aws_security_group.break_glass
  values = { id = "sg-0breakglass" }
}

run "trusts_only_the_listed_principals" {
  command = apply

  assert {
    condition = jsonencode(jsondecode(aws_iam_role.break_glass.assume_role_policy).Statement) == jsonencode([{
      Sid       = "OnlyTheListedPrincipals"
      Effect    = "Allow"
      Principal = { AWS = ["arn:aws:iam::123456789012:root"] }
      Action    = "sts:AssumeRole"
      Condition = { ArnLike = { "aws:PrincipalArn" = var.trusted_principal_arns } }
    }])
    error_message = "The break-glass role trusts the listed principals (by aws:PrincipalArn) and no one else."
  }

  assert {
    condition     = aws_iam_role.break_glass.name == "llm-gateway-break-glass" && aws_iam_role.break_glass.max_session_duration == 3600
    error_message = "The role is llm-gateway-break-glass, sessions of at most an hour."
  }

  assert {
    condition = (
      aws_iam_role.break_glass.permissions_boundary == var.permissions_boundary &&
      aws_iam_role.task_execution.permissions_boundary == var.permissions_boundary
    )
    error_message = "Both roles carry the project's permissions boundary (the apply role can create no other)."
  }
}

run "may_only_run_the_break_glass_task" {
  command = apply

  assert {
    condition = jsonencode(jsondecode(aws_iam_role_policy.break_glass.policy).Statement) == jsonencode([
      {
        Sid       = "RunTheBreakGlassTaskInTheGatewayCluster"
        Effect    = "Allow"
        Action    = "ecs:RunTask"
        Resource  = "arn:aws:ecs:ap-south-1:123456789012:task-definition/llm-gateway-break-glass:*"
        Condition = { ArnEquals = { "ecs:cluster" = var.cluster_arn } }
      },
      {
        Sid       = "PassItsExecutionRoleToEcsOnly"
        Effect    = "Allow"
        Action    = "iam:PassRole"
        Resource  = "arn:aws:iam::123456789012:role/llm-gateway-break-glass-task-execution"
        Condition = { StringEquals = { "iam:PassedToService" = "ecs-tasks.amazonaws.com" } }
      },
      {
        Sid       = "SeeHowTheTaskEnded"
        Effect    = "Allow"
        Action    = "ecs:DescribeTasks"
        Resource  = "arn:aws:ecs:ap-south-1:123456789012:task/llm-gateway/*"
        Condition = { ArnEquals = { "ecs:cluster" = var.cluster_arn } }
      },
    ])
    error_message = "The break-glass role may run the break-glass task in the gateway's cluster, pass its execution role to ECS and see the task's end: nothing else (no secret, no log, no other task)."
  }

  assert {
    condition = (
      jsondecode(aws_iam_role.task_execution.assume_role_policy).Statement[0].Principal == { Service = "ecs-tasks.amazonaws.com" } &&
      [for st in jsondecode(aws_iam_role_policy.task_execution.policy).Statement : st.Resource if st.Action == "secretsmanager:GetSecretValue"] == [var.master_key_secret_arn] &&
      toset(flatten([for st in jsondecode(aws_iam_role_policy.task_execution.policy).Statement : st.Action])) == toset([
        "secretsmanager:GetSecretValue", "kms:Decrypt", "logs:CreateLogStream", "logs:PutLogEvents",
      ])
    )
    error_message = "The task's execution role (ECS only) reads the master key and no other secret, decrypts it and writes logs."
  }

  assert {
    condition = (
      aws_ecs_task_definition.break_glass.family == "llm-gateway-break-glass" &&
      aws_ecs_task_definition.break_glass.task_role_arn == null &&
      jsondecode(aws_ecs_task_definition.break_glass.container_definitions)[0].secrets == [
        { name = "LITELLM_MASTER_KEY", valueFrom = var.master_key_secret_arn },
      ] &&
      jsondecode(aws_ecs_task_definition.break_glass.container_definitions)[0].command == [file("${path.module}/block-key.py")] &&
      jsondecode(aws_ecs_task_definition.break_glass.container_definitions)[0].readonlyRootFilesystem
    )
    error_message = "The task runs block-key.py with the master key injected by ECS, no task role, a read-only root filesystem."
  }
}

run "tasks_admit_the_break_glass_group_only" {
  command = apply

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.tasks_from_break_glass.security_group_id == "sg-0tasks" &&
      aws_vpc_security_group_ingress_rule.tasks_from_break_glass.referenced_security_group_id == "sg-0breakglass" &&
      aws_vpc_security_group_ingress_rule.tasks_from_break_glass.cidr_ipv4 == null &&
      aws_vpc_security_group_ingress_rule.tasks_from_break_glass.from_port == 4000 &&
      aws_vpc_security_group_ingress_rule.tasks_from_break_glass.to_port == 4000
    )
    error_message = "The tasks admit the break-glass security group on the proxy port, no address range."
  }

  assert {
    condition = (
      aws_vpc_security_group_egress_rule.to_tasks.referenced_security_group_id == "sg-0tasks" &&
      aws_vpc_security_group_egress_rule.to_tasks.from_port == 4000 &&
      aws_vpc_security_group_egress_rule.https.from_port == 443 && aws_vpc_security_group_egress_rule.https.to_port == 443
    )
    error_message = "The break-glass task reaches the tasks' proxy port and HTTPS (image, secret, logs) only."
  }

  assert {
    condition     = output.network_configuration == jsonencode({ awsvpcConfiguration = { subnets = var.subnet_ids, securityGroups = ["sg-0breakglass"], assignPublicIp = "DISABLED" } })
    error_message = "run-task puts the task in the private subnets, in the break-glass security group, without a public address."
  }
}

run "rejects_a_wildcard_trust" {
  command = plan

  variables {
    trusted_principal_arns = ["arn:aws:iam::123456789012:role/*"]
  }

  expect_failures = [var.trusted_principal_arns]
}

run "rejects_an_account_principal" {
  command = plan

  variables {
    trusted_principal_arns = ["arn:aws:iam::123456789012:root"]
  }

  expect_failures = [var.trusted_principal_arns]
}

run "rejects_an_empty_list" {
  command = plan

  variables {
    trusted_principal_arns = []
  }

  expect_failures = [var.trusted_principal_arns]
}
