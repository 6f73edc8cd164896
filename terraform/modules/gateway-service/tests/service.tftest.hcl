# The service: one on-demand task, the rest on Spot, scaled within the connection budget.

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  name                    = "llm-gateway"
  cluster_name            = "llm-gateway"
  cluster_arn             = "arn:aws:ecs:ap-south-1:123456789012:cluster/llm-gateway"
  task_definition_arn     = "arn:aws:ecs:ap-south-1:123456789012:task-definition/llm-gateway-gateway:1"
  container_name          = "litellm"
  container_port          = 4000
  target_group_arn        = "arn:aws:elasticloadbalancing:ap-south-1:123456789012:targetgroup/llm-gateway-tg/73e2d6bc24d8a067"
  alb_arn_suffix          = "app/llm-gateway-alb/50dc6c495c0c9188"
  target_group_arn_suffix = "targetgroup/llm-gateway-tg/73e2d6bc24d8a067"
  subnet_ids              = ["subnet-0prv1", "subnet-0prv2"]
  security_group_id       = "sg-0tasks"
  vpc_id                  = "vpc-0123456789abcdef0"
  workers_per_task        = 1
  db_pool_limit           = 5
}

# First, on an empty state: desired_count is set only at creation (autoscaling owns it later).
run "paused_runs_no_task" {
  command = apply

  variables {
    paused = true
  }

  assert {
    condition     = aws_ecs_service.this.desired_count == 0 && aws_appautoscaling_target.this.max_capacity == 0
    error_message = "A paused service starts with no task and cannot be scaled up."
  }
}

run "spot_service" {
  command = apply

  assert {
    condition = (
      length([for s in aws_ecs_service.this.capacity_provider_strategy : s if s.capacity_provider == "FARGATE" && s.base == 1]) == 1 &&
      length([for s in aws_ecs_service.this.capacity_provider_strategy : s if s.capacity_provider == "FARGATE_SPOT" && s.weight > 0 && s.base == 0]) == 1 &&
      sum([for s in aws_ecs_service.this.capacity_provider_strategy : s.weight if s.capacity_provider == "FARGATE"]) == 0
    )
    error_message = "Service must run FARGATE base 1 with FARGATE_SPOT carrying the weight."
  }

  assert {
    condition = (
      one(aws_ecs_service.this.network_configuration).assign_public_ip == false &&
      one(aws_ecs_service.this.deployment_circuit_breaker).rollback &&
      aws_ecs_service.this.enable_execute_command == false
    )
    error_message = "Tasks get no public IP and no ECS Exec; a failed rollout rolls back."
  }

  assert {
    condition = (
      aws_appautoscaling_target.this.min_capacity == 2 && aws_appautoscaling_target.this.max_capacity == 4 &&
      one(one(aws_appautoscaling_policy.this["requests"].target_tracking_scaling_policy_configuration).predefined_metric_specification).resource_label == "${var.alb_arn_suffix}/${var.target_group_arn_suffix}"
    )
    error_message = "Unpaused, it scales from min_tasks to max_tasks on CPU and on requests per target of this ALB's target group."
  }

  assert {
    condition = {
      for k, p in aws_appautoscaling_policy.this : p.name => "${one(one(p.target_tracking_scaling_policy_configuration).predefined_metric_specification).predefined_metric_type} ${one(p.target_tracking_scaling_policy_configuration).target_value}"
      } == {
      "llm-gateway-cpu"      = "ECSServiceAverageCPUUtilization 60"
      "llm-gateway-requests" = "ALBRequestCountPerTarget 300"
    }
    error_message = "Target tracking on average CPU (60 %) and on requests per task (300 a minute)."
  }

  # The admin API's only address: a private name in the VPC (the ALB serves the model APIs only).
  assert {
    condition = (
      one(aws_ecs_service.this.service_registries).registry_arn == aws_service_discovery_service.admin.arn &&
      aws_service_discovery_private_dns_namespace.admin.vpc == var.vpc_id &&
      output.admin_base_url == "http://litellm.gateway.internal:4000"
    )
    error_message = "ECS registers the tasks under litellm.gateway.internal, resolvable only in the VPC, on the proxy port."
  }

  # 4 tasks * 200 % * 1 worker * 5 + 10 = 50
  assert {
    condition     = output.peak_db_connections == 50
    error_message = "The worst case counts every task of a rollout at once, each worker with its pool, plus the extras."
  }
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
