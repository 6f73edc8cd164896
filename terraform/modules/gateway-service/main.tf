# The gateway's ECS service and its autoscaling: at least one on-demand task, the rest on Fargate
# Spot, behind the load balancer's target group, scaled on CPU and on requests per task. Plan fails
# when the worst case of PostgreSQL connections (every task of a rollout at once) exceeds what the
# database has to give (docs/architecture.md#connection-budget).

locals {
  peak_gateway_connections = ceil(var.max_tasks * var.deployment_maximum_percent / 100) * var.workers_per_task * var.db_pool_limit
  peak_db_connections      = local.peak_gateway_connections + var.extra_db_connections
}

# A private DNS name inside the VPC with one A record per running task, kept by ECS.
resource "aws_service_discovery_private_dns_namespace" "admin" {
  name        = var.private_dns_namespace
  description = "${var.name}: the gateway tasks inside the VPC (admin API for the CI runner)"
  vpc         = var.vpc_id
  tags        = var.tags
}

resource "aws_service_discovery_service" "admin" {
  name = var.private_dns_name

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.admin.id
    routing_policy = "MULTIVALUE"

    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  tags = var.tags
}

resource "aws_ecs_service" "this" {
  name                               = var.name
  cluster                            = var.cluster_arn
  task_definition                    = var.task_definition_arn
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
    subnets          = var.subnet_ids
    security_groups  = [var.security_group_id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = var.target_group_arn
    container_name   = var.container_name
    container_port   = var.container_port
  }

  # The admin API's address: the ALB serves only the model APIs, so the pipeline's runner in the VPC
  # calls the tasks by this name (docs/adr/0006-admin-api-not-on-the-internet.md).
  service_registries {
    registry_arn = aws_service_discovery_service.admin.arn
  }

  tags = var.tags

  lifecycle {
    ignore_changes = [desired_count]

    precondition {
      condition     = local.peak_db_connections <= var.db_max_connections - var.db_reserved_connections
      error_message = "Connection budget exceeded: peak ${local.peak_db_connections} > ${var.db_max_connections} - ${var.db_reserved_connections} reserved."
    }
  }
}

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/${var.cluster_name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.paused ? 0 : var.min_tasks
  max_capacity       = var.paused ? 0 : var.max_tasks
  tags               = var.tags
}

# Target tracking on two metrics; the service scales out when either is above its target.
resource "aws_appautoscaling_policy" "this" {
  for_each = {
    cpu      = { metric = "ECSServiceAverageCPUUtilization", target = var.cpu_target_percent, label = null }
    requests = { metric = "ALBRequestCountPerTarget", target = var.requests_per_target, label = "${var.alb_arn_suffix}/${var.target_group_arn_suffix}" }
  }

  name               = "${var.name}-${each.key}"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = each.value.target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = each.value.metric
      resource_label         = each.value.label
    }
  }
}
