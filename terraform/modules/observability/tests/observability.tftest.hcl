# Alarms from one table: each one's metric, threshold and dimensions, all notifying the topic.

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  name                      = "llm-gateway"
  kms_key_arn               = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  alarm_emails              = ["oncall@example.com"]
  alb_arn_suffix            = "app/llm-gateway-alb/50dc6c495c0c9188"
  target_group_arn_suffix   = "targetgroup/llm-gateway-tg/73e2d6bc24d8a067"
  ecs_cluster_name          = "llm-gateway"
  ecs_cluster_arn           = "arn:aws:ecs:ap-south-1:123456789012:cluster/llm-gateway"
  ecs_service_name          = "llm-gateway"
  db_instance_id            = "llm-gateway"
  rds_connections_threshold = 70
  monthly_budget_usd        = 500
}

run "alarms" {
  command = apply

  assert {
    condition = {
      for k, a in aws_cloudwatch_metric_alarm.this :
      a.alarm_name => "${a.namespace} ${a.metric_name} ${a.statistic} ${a.period}s x${a.evaluation_periods} ${a.comparison_operator} ${a.threshold} missing:${a.treat_missing_data}"
      } == {
      "llm-gateway-alb-5xx"           = "AWS/ApplicationELB HTTPCode_Target_5XX_Count Sum 300s x1 GreaterThanOrEqualToThreshold 10 missing:notBreaching"
      "llm-gateway-alb-elb-5xx"       = "AWS/ApplicationELB HTTPCode_ELB_5XX_Count Sum 300s x1 GreaterThanOrEqualToThreshold 10 missing:notBreaching"
      "llm-gateway-unhealthy-targets" = "AWS/ApplicationELB UnHealthyHostCount Maximum 60s x3 GreaterThanOrEqualToThreshold 1 missing:notBreaching"
      "llm-gateway-ecs-cpu"           = "AWS/ECS CPUUtilization Average 300s x3 GreaterThanOrEqualToThreshold 85 missing:missing"
      "llm-gateway-rds-connections"   = "AWS/RDS DatabaseConnections Maximum 300s x1 GreaterThanOrEqualToThreshold 70 missing:missing"
      "llm-gateway-rds-cpu"           = "AWS/RDS CPUUtilization Average 300s x3 GreaterThanOrEqualToThreshold 80 missing:missing"
      "llm-gateway-rds-free-storage"  = "AWS/RDS FreeStorageSpace Minimum 300s x1 LessThanOrEqualToThreshold 2147483648 missing:missing"
    }
    error_message = "The seven alarms, each on its metric, statistic, window and threshold."
  }

  assert {
    condition = alltrue([
      for a in aws_cloudwatch_metric_alarm.this :
      a.alarm_actions == toset([aws_sns_topic.alarms.arn]) && a.ok_actions == toset([aws_sns_topic.alarms.arn])
    ])
    error_message = "Every alarm notifies the topic when it fires and when it clears."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["unhealthy_targets"].dimensions == tomap({ LoadBalancer = var.alb_arn_suffix, TargetGroup = var.target_group_arn_suffix }) &&
      aws_cloudwatch_metric_alarm.this["ecs_cpu"].dimensions == tomap({ ClusterName = "llm-gateway", ServiceName = "llm-gateway" }) &&
      aws_cloudwatch_metric_alarm.this["rds_connections"].dimensions == tomap({ DBInstanceIdentifier = "llm-gateway" })
    )
    error_message = "Each alarm watches the gateway's own ALB, target group, service and database."
  }

  assert {
    condition     = aws_sns_topic.alarms.kms_master_key_id == var.kms_key_arn && aws_sns_topic_subscription.email["oncall@example.com"].protocol == "email"
    error_message = "The topic is encrypted and mails the on-call addresses."
  }
}
