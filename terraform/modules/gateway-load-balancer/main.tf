# The gateway's front door: an internet-facing ALB that terminates TLS and forwards to the tasks'
# target group. Only the model APIs are on the internet (docs/adr/0006-admin-api-not-on-the-internet.md).
# The HTTPS listener forwards the exact model-API paths in public_paths from any client the security
# group admits and answers 403 to everything else: LiteLLM's admin API (/key/*, /user/*, /team/*,
# /budget/*, /spend/*, /ui, ...) is not served here at all, to any address. The pipeline reaches it
# from its runner inside the VPC (modules/github-runner, modules/gateway-service admin_base_url).

locals {
  # An ALB rule matches at most 5 condition values.
  public_path_chunks = chunklist(var.public_paths, 5)
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:WAF is an optional add-on (cost); all routes require a LiteLLM virtual key and the ALB accepts only HTTPS
  name                       = substr("${var.name}-alb", 0, 32)
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.subnet_ids
  security_groups            = [var.security_group_id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  idle_timeout               = var.idle_timeout

  access_logs {
    bucket  = var.access_logs_bucket
    prefix  = var.access_logs_prefix
    enabled = true
  }

  tags = var.tags
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS terminates at the ALB; ALB->task hop is HTTP inside private subnets restricted by the SG chain
  name                 = substr("${var.name}-tg", 0, 32)
  port                 = var.target_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay

  health_check {
    path                = var.health_check_path
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "application/json"
      status_code  = "403"
      message_body = jsonencode({ error = { type = "forbidden", message = "not served here: this address serves only the model APIs; the LiteLLM admin API is reachable only from inside the gateway's VPC (docs/adr/0006-admin-api-not-on-the-internet.md)" } })
    }
  }

  tags = var.tags
}

resource "aws_lb_listener_rule" "public_model_api" {
  count = length(local.public_path_chunks)

  listener_arn = aws_lb_listener.https.arn
  priority     = 100 + count.index

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  condition {
    path_pattern {
      values = local.public_path_chunks[count.index]
    }
  }

  tags = var.tags
}

resource "aws_lb_listener" "http_redirect" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }

  tags = var.tags
}
