output "arn" {
  description = "ALB ARN."
  value       = aws_lb.this.arn
}

output "arn_suffix" {
  description = "ALB ARN suffix (CloudWatch dimension)."
  value       = aws_lb.this.arn_suffix
}

output "dns_name" {
  description = "DNS name of the ALB (point the gateway hostname here)."
  value       = aws_lb.this.dns_name
}

output "target_group_arn" {
  description = "Target group of the tasks, known only once the HTTPS listener and its forwarding rules exist: ECS refuses a service whose target group no load balancer uses, so a service created from this output waits for them."
  value       = aws_lb_target_group.this.arn

  depends_on = [aws_lb_listener.https, aws_lb_listener_rule.public_model_api]
}

output "target_group_arn_suffix" {
  description = "Target group ARN suffix (CloudWatch dimension)."
  value       = aws_lb_target_group.this.arn_suffix
}

output "https_listener_arn" {
  description = "HTTPS listener (default action 403; rules forward the public paths only)."
  value       = aws_lb_listener.https.arn
}
