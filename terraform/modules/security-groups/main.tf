# Strict chain: internet -> ALB (443, 80 redirect only) -> tasks (proxy port)
# -> RDS (5432) / cache (6379). Every rule is a separate resource with a description.
# The pipeline's runner in the VPC reaches the tasks' proxy port directly (the admin API, which the
# ALB does not serve: docs/adr/0006-admin-api-not-on-the-internet.md); nothing else does.

resource "aws_security_group" "alb" {
  #checkov:skip=CKV2_AWS_5:Attached in other modules (ALB, ECS service, RDS, ElastiCache, VPC endpoints) via outputs, which checkov cannot follow
  name        = "${var.name}-alb"
  description = "LLM gateway ALB: HTTPS from clients, forwards to tasks only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-alb" })
}

resource "aws_security_group" "tasks" {
  #checkov:skip=CKV2_AWS_5:Attached in other modules (ALB, ECS service, RDS, ElastiCache, VPC endpoints) via outputs, which checkov cannot follow
  name        = "${var.name}-tasks"
  description = "LLM gateway ECS tasks: proxy port from the ALB only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-tasks" })
}

resource "aws_security_group" "db" {
  #checkov:skip=CKV2_AWS_5:Attached in other modules (ALB, ECS service, RDS, ElastiCache, VPC endpoints) via outputs, which checkov cannot follow
  name        = "${var.name}-db"
  description = "LLM gateway PostgreSQL: 5432 from tasks only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-db" })
}

resource "aws_security_group" "cache" {
  #checkov:skip=CKV2_AWS_5:Attached in other modules (ALB, ECS service, RDS, ElastiCache, VPC endpoints) via outputs, which checkov cannot follow
  count = var.cache_enabled ? 1 : 0

  name        = "${var.name}-cache"
  description = "LLM gateway Valkey: cache port from tasks only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-cache" })
}

resource "aws_security_group" "endpoints" {
  #checkov:skip=CKV2_AWS_5:Attached in other modules (ALB, ECS service, RDS, ElastiCache, VPC endpoints) via outputs, which checkov cannot follow
  count = var.endpoints_enabled ? 1 : 0

  name        = "${var.name}-endpoints"
  description = "LLM gateway VPC interface endpoints: HTTPS from tasks only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-endpoints" })
}

resource "aws_security_group" "runner" {
  #checkov:skip=CKV2_AWS_5:Attached in other modules (ALB, ECS service, RDS, ElastiCache, VPC endpoints) via outputs, which checkov cannot follow
  name        = "${var.name}-runner"
  description = "LLM gateway CI runner in the VPC: admin API of the tasks, HTTPS out"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-runner" })
}

# ---------------------------------------------------------------- ALB
resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each = toset(var.alb_ingress_cidrs)

  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from clients"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "alb_http_redirect" {
  for_each = toset(var.alb_ingress_cidrs)

  security_group_id = aws_security_group.alb.id
  description       = "HTTP from clients, listener only redirects to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "alb_to_tasks" {
  security_group_id            = aws_security_group.alb.id
  description                  = "Forward to gateway tasks on the proxy port"
  ip_protocol                  = "tcp"
  from_port                    = var.proxy_port
  to_port                      = var.proxy_port
  referenced_security_group_id = aws_security_group.tasks.id
}

# ---------------------------------------------------------------- tasks
resource "aws_vpc_security_group_ingress_rule" "tasks_from_alb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "Proxy port from the ALB only"
  ip_protocol                  = "tcp"
  from_port                    = var.proxy_port
  to_port                      = var.proxy_port
  referenced_security_group_id = aws_security_group.alb.id
}

# The admin API: only from the runner, never through the ALB.
resource "aws_vpc_security_group_ingress_rule" "tasks_from_runner" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "Proxy port (LiteLLM admin API) from the CI runner in the VPC only"
  ip_protocol                  = "tcp"
  from_port                    = var.proxy_port
  to_port                      = var.proxy_port
  referenced_security_group_id = aws_security_group.runner.id
}

resource "aws_vpc_security_group_egress_rule" "tasks_to_db" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "PostgreSQL"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.db.id
}

resource "aws_vpc_security_group_egress_rule" "tasks_to_cache" {
  count = var.cache_enabled ? 1 : 0

  security_group_id            = aws_security_group.tasks.id
  description                  = "Valkey (TLS)"
  ip_protocol                  = "tcp"
  from_port                    = var.cache_port
  to_port                      = var.cache_port
  referenced_security_group_id = aws_security_group.cache[0].id
}

# NAT mode: HTTPS to AWS APIs (Bedrock, Secrets Manager, Logs) and ghcr.io.
resource "aws_vpc_security_group_egress_rule" "tasks_https_internet" {
  count = var.endpoints_enabled ? 0 : 1

  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS via NAT to AWS APIs and the image registry"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

# Endpoint mode: HTTPS only to the interface endpoints and the S3 gateway endpoint.
resource "aws_vpc_security_group_egress_rule" "tasks_https_endpoints" {
  count = var.endpoints_enabled ? 1 : 0

  security_group_id            = aws_security_group.tasks.id
  description                  = "HTTPS to VPC interface endpoints"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.endpoints[0].id
}

resource "aws_vpc_security_group_egress_rule" "tasks_https_s3" {
  count = var.endpoints_enabled ? 1 : 0

  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to S3 through the gateway endpoint (config, ECR layers)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = var.s3_prefix_list_id
}

# ---------------------------------------------------------------- runner
resource "aws_vpc_security_group_egress_rule" "runner_to_tasks" {
  security_group_id            = aws_security_group.runner.id
  description                  = "LiteLLM admin API on the gateway tasks"
  ip_protocol                  = "tcp"
  from_port                    = var.proxy_port
  to_port                      = var.proxy_port
  referenced_security_group_id = aws_security_group.tasks.id
}

# GitHub (the job's steps and logs), PyPI (make install) and AWS APIs, through the NAT gateway.
# Nothing else: no inbound rule, no other port.
resource "aws_vpc_security_group_egress_rule" "runner_https" {
  security_group_id = aws_security_group.runner.id
  description       = "HTTPS via NAT to GitHub, PyPI and AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

# ---------------------------------------------------------------- database
resource "aws_vpc_security_group_ingress_rule" "db_from_tasks" {
  security_group_id            = aws_security_group.db.id
  description                  = "PostgreSQL from gateway tasks only"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.tasks.id
}

# ---------------------------------------------------------------- cache
resource "aws_vpc_security_group_ingress_rule" "cache_from_tasks" {
  count = var.cache_enabled ? 1 : 0

  security_group_id            = aws_security_group.cache[0].id
  description                  = "Valkey from gateway tasks only"
  ip_protocol                  = "tcp"
  from_port                    = var.cache_port
  to_port                      = var.cache_port
  referenced_security_group_id = aws_security_group.tasks.id
}

# ---------------------------------------------------------------- endpoints
resource "aws_vpc_security_group_ingress_rule" "endpoints_from_tasks" {
  count = var.endpoints_enabled ? 1 : 0

  security_group_id            = aws_security_group.endpoints[0].id
  description                  = "HTTPS from gateway tasks only"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.tasks.id
}
