# The alarms were one resource each; they are one resource with for_each now (main.tf).

moved {
  from = aws_cloudwatch_metric_alarm.alb_5xx
  to   = aws_cloudwatch_metric_alarm.this["alb_5xx"]
}

moved {
  from = aws_cloudwatch_metric_alarm.alb_elb_5xx
  to   = aws_cloudwatch_metric_alarm.this["alb_elb_5xx"]
}

moved {
  from = aws_cloudwatch_metric_alarm.unhealthy_targets
  to   = aws_cloudwatch_metric_alarm.this["unhealthy_targets"]
}

moved {
  from = aws_cloudwatch_metric_alarm.ecs_cpu
  to   = aws_cloudwatch_metric_alarm.this["ecs_cpu"]
}

moved {
  from = aws_cloudwatch_metric_alarm.rds_connections
  to   = aws_cloudwatch_metric_alarm.this["rds_connections"]
}

moved {
  from = aws_cloudwatch_metric_alarm.rds_cpu
  to   = aws_cloudwatch_metric_alarm.this["rds_cpu"]
}

moved {
  from = aws_cloudwatch_metric_alarm.rds_free_storage
  to   = aws_cloudwatch_metric_alarm.this["rds_free_storage"]
}
