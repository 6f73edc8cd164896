data "aws_caller_identity" "current" {}

locals {
  account_id    = data.aws_caller_identity.current.account_id
  alarm_actions = [aws_sns_topic.alarms.arn]
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_policy" "alarms" {
  arn = aws_sns_topic.alarms.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AwsServicesPublishAlarms"
        Effect    = "Allow"
        Principal = { Service = ["cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com"] }
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.alarms.arn
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ]
  })
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

# ------------------------------------------------------------------- alarms
# One CloudWatch alarm per row; each notifies the topic when it fires and when it clears. A row
# gives what differs from alarm_defaults.
locals {
  # map(string) throughout, so that every row has the same type.
  alb_dimensions = tomap({ LoadBalancer = var.alb_arn_suffix })
  rds_dimensions = tomap({ DBInstanceIdentifier = var.db_instance_id })

  alarm_defaults = {
    period   = 300
    periods  = 1
    operator = "GreaterThanOrEqualToThreshold"
    missing  = "missing"
  }

  alarms = { for key, row in {
    alb_5xx = {
      description = "Gateway returns 5xx (ELB or target) above threshold"
      namespace   = "AWS/ApplicationELB"
      metric      = "HTTPCode_Target_5XX_Count"
      statistic   = "Sum"
      threshold   = var.alb_5xx_threshold
      missing     = "notBreaching"
      dimensions  = local.alb_dimensions
    }
    alb_elb_5xx = {
      description = "ALB itself returns 5xx (no healthy target, timeouts)"
      namespace   = "AWS/ApplicationELB"
      metric      = "HTTPCode_ELB_5XX_Count"
      statistic   = "Sum"
      threshold   = var.alb_5xx_threshold
      missing     = "notBreaching"
      dimensions  = local.alb_dimensions
    }
    unhealthy_targets = {
      description = "At least one gateway task fails the /health/liveliness check"
      namespace   = "AWS/ApplicationELB"
      metric      = "UnHealthyHostCount"
      statistic   = "Maximum"
      period      = 60
      periods     = 3
      threshold   = 1
      missing     = "notBreaching"
      dimensions  = merge(local.alb_dimensions, tomap({ TargetGroup = var.target_group_arn_suffix }))
    }
    ecs_cpu = {
      description = "Gateway service CPU high (autoscaling at max?)"
      namespace   = "AWS/ECS"
      metric      = "CPUUtilization"
      statistic   = "Average"
      periods     = 3
      threshold   = var.ecs_cpu_threshold
      dimensions  = tomap({ ClusterName = var.ecs_cluster_name, ServiceName = var.ecs_service_name })
    }
    rds_connections = {
      description = "PostgreSQL connections approach the connection budget"
      namespace   = "AWS/RDS"
      metric      = "DatabaseConnections"
      statistic   = "Maximum"
      threshold   = var.rds_connections_threshold
      dimensions  = local.rds_dimensions
    }
    rds_cpu = {
      description = "PostgreSQL CPU high (t4g burst credits at risk)"
      namespace   = "AWS/RDS"
      metric      = "CPUUtilization"
      statistic   = "Average"
      periods     = 3
      threshold   = var.rds_cpu_threshold
      dimensions  = local.rds_dimensions
    }
    rds_free_storage = {
      description = "PostgreSQL free storage below 2 GiB"
      namespace   = "AWS/RDS"
      metric      = "FreeStorageSpace"
      statistic   = "Minimum"
      threshold   = 2147483648
      operator    = "LessThanOrEqualToThreshold"
      dimensions  = local.rds_dimensions
    }
  } : key => merge(local.alarm_defaults, row) }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${replace(each.key, "_", "-")}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = each.value.periods
  threshold           = each.value.threshold
  comparison_operator = each.value.operator
  treat_missing_data  = each.value.missing
  dimensions          = each.value.dimensions
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# ------------------------------------------------------------------- Spot
# Fargate sends a task state change with stopCode SpotInterruption ~2 min before
# reclaiming a Spot task. The service replaces it; we want to know how often.
resource "aws_cloudwatch_event_rule" "spot_interruption" {
  name        = "${var.name}-spot-interruption"
  description = "Fargate Spot interruption of a gateway task"
  event_pattern = jsonencode({
    source        = ["aws.ecs"]
    "detail-type" = ["ECS Task State Change"]
    detail = {
      clusterArn = [var.ecs_cluster_arn]
      stopCode   = ["SpotInterruption"]
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "spot_interruption" {
  rule      = aws_cloudwatch_event_rule.spot_interruption.name
  target_id = "sns"
  arn       = aws_sns_topic.alarms.arn
}

# ------------------------------------------------------------------- cost
resource "aws_budgets_budget" "monthly" {
  name         = "${var.name}-monthly"
  budget_type  = "COST"
  limit_amount = format("%.2f", var.monthly_budget_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  notification {
    comparison_operator       = "GREATER_THAN"
    threshold                 = 80
    threshold_type            = "PERCENTAGE"
    notification_type         = "ACTUAL"
    subscriber_sns_topic_arns = [aws_sns_topic.alarms.arn]
  }

  notification {
    comparison_operator       = "GREATER_THAN"
    threshold                 = 100
    threshold_type            = "PERCENTAGE"
    notification_type         = "FORECASTED"
    subscriber_sns_topic_arns = [aws_sns_topic.alarms.arn]
  }

  tags = var.tags
}
