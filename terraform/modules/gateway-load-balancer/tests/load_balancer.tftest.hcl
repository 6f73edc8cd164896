# The front door: TLS only, and only the model APIs on the internet (docs/adr/0006).

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  name               = "llm-gateway"
  vpc_id             = "vpc-0123456789abcdef0"
  subnet_ids         = ["subnet-0pub1", "subnet-0pub2"]
  security_group_id  = "sg-0alb"
  certificate_arn    = "arn:aws:acm:ap-south-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"
  target_port        = 4000
  access_logs_bucket = "llm-gateway-logs-123"
}

run "alb_hardening" {
  command = apply

  assert {
    condition = (
      aws_lb.this.drop_invalid_header_fields &&
      aws_lb_listener.https.ssl_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06" &&
      aws_lb_listener.http_redirect.default_action[0].type == "redirect" &&
      aws_lb_target_group.this.health_check[0].path == "/health/liveliness"
    )
    error_message = "ALB hardening (TLS policy, redirect-only HTTP, header dropping, health path)."
  }

  assert {
    condition     = aws_lb_target_group.this.deregistration_delay < 120
    error_message = "Spot: the deregistration delay must fit the 120 s warning."
  }

  assert {
    condition = (
      aws_lb.this.access_logs[0].enabled && aws_lb.this.access_logs[0].bucket == var.access_logs_bucket &&
      aws_lb.this.access_logs[0].prefix == "alb" && aws_lb.this.enable_deletion_protection
    )
    error_message = "Access logs go to the log bucket under alb/; deletion protection is on by default."
  }
}

# ------------------------------------------------------------ admin API (docs/adr/0006)
run "admin_api_not_served" {
  command = apply

  assert {
    condition = (
      aws_lb_listener.https.default_action[0].type == "fixed-response" &&
      aws_lb_listener.https.default_action[0].fixed_response[0].status_code == "403"
    )
    error_message = "Paths that are not model APIs must get a 403 from the ALB, not reach LiteLLM."
  }

  # No rule forwards by source address: nowhere on the internet is the admin API served.
  assert {
    condition = alltrue([
      for r in aws_lb_listener_rule.public_model_api : alltrue([for c in r.condition : length(c.source_ip) == 0 && length(c.path_pattern) == 1])
    ])
    error_message = "Every forwarding rule matches model-API paths only, never a source address."
  }

  assert {
    condition = toset(flatten([for r in aws_lb_listener_rule.public_model_api : tolist(r.condition)[0].path_pattern[0].values])) == toset([
      "/v1/chat/completions", "/chat/completions", "/v1/completions", "/completions",
      "/v1/embeddings", "/embeddings", "/v1/messages", "/v1/messages/count_tokens",
      "/v1/models", "/models", "/health/liveliness", "/health/readiness",
      "/v1/responses", "/responses",
    ])
    error_message = "Exactly the model-API paths are forwarded from anywhere."
  }

  assert {
    condition = alltrue([
      for r in aws_lb_listener_rule.public_model_api :
      length(tolist(r.condition)[0].path_pattern[0].values) <= 5 &&
      alltrue([for p in tolist(r.condition)[0].path_pattern[0].values : !strcontains(p, "*") && !strcontains(p, "?")]) &&
      r.action[0].type == "forward" && r.priority >= 100
    ])
    error_message = "Public rules: exact paths (no wildcard can cover an admin route), at most 5 per rule, forward only."
  }

  assert {
    condition = length([
      for p in flatten([for r in aws_lb_listener_rule.public_model_api : tolist(r.condition)[0].path_pattern[0].values]) : p
      if can(regex("^/(key|user|team|budget|spend|global|ui|model|sso|config|organization|customer)(/|$)", p))
    ]) == 0
    error_message = "No admin route (/key, /user, /team, /budget, /spend, /global, /ui, /model, ...) may be public."
  }
}

run "rejects_wildcard_public_path" {
  command = plan

  variables {
    public_paths = ["/v1/*"]
  }

  expect_failures = [var.public_paths]
}

run "rejects_admin_route_as_public_path" {
  command = plan

  variables {
    public_paths = ["/v1/chat/completions", "/key/generate"]
  }

  expect_failures = [var.public_paths]
}
