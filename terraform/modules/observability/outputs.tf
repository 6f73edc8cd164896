output "sns_topic_arn" {
  description = "Alarm topic ARN."
  value       = aws_sns_topic.alarms.arn
}

output "spot_interruption_rule_name" {
  description = "EventBridge rule for Fargate Spot interruptions."
  value       = aws_cloudwatch_event_rule.spot_interruption.name
}

output "budget_name" {
  description = "Name of the monthly budget."
  value       = aws_budgets_budget.monthly.name
}
