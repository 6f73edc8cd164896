# The SG chain: internet -> ALB 443/80 -> tasks 4000 -> RDS 5432 / cache 6379.

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  name          = "llm-gateway"
  vpc_id        = "vpc-0123456789abcdef0"
  cache_enabled = true
}

run "nat_mode_chain" {
  command = apply

  assert {
    condition = (
      length(aws_vpc_security_group_ingress_rule.alb_https) == 1 &&
      alltrue([for r in aws_vpc_security_group_ingress_rule.alb_https : r.ip_protocol == "tcp" && r.from_port == 443 && r.to_port == 443 && r.cidr_ipv4 == "0.0.0.0/0"])
    )
    error_message = "ALB must accept exactly 443/tcp from the internet."
  }

  assert {
    condition = (
      length(aws_vpc_security_group_ingress_rule.alb_http_redirect) == 1 &&
      alltrue([for r in aws_vpc_security_group_ingress_rule.alb_http_redirect : r.from_port == 80 && r.to_port == 80])
    )
    error_message = "ALB may accept 80/tcp only (for the redirect listener)."
  }

  assert {
    condition = (
      aws_vpc_security_group_egress_rule.alb_to_tasks.from_port == 4000 &&
      aws_vpc_security_group_egress_rule.alb_to_tasks.to_port == 4000 &&
      aws_vpc_security_group_egress_rule.alb_to_tasks.referenced_security_group_id == aws_security_group.tasks.id
    )
    error_message = "ALB egress must go only to the task SG on 4000."
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.tasks_from_alb.from_port == 4000 &&
      aws_vpc_security_group_ingress_rule.tasks_from_alb.to_port == 4000 &&
      aws_vpc_security_group_ingress_rule.tasks_from_alb.referenced_security_group_id == aws_security_group.alb.id &&
      aws_vpc_security_group_ingress_rule.tasks_from_alb.cidr_ipv4 == null
    )
    error_message = "Tasks must accept only 4000/tcp from the ALB SG."
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.db_from_tasks.from_port == 5432 &&
      aws_vpc_security_group_ingress_rule.db_from_tasks.to_port == 5432 &&
      aws_vpc_security_group_ingress_rule.db_from_tasks.referenced_security_group_id == aws_security_group.tasks.id &&
      aws_vpc_security_group_ingress_rule.db_from_tasks.cidr_ipv4 == null
    )
    error_message = "RDS must accept only 5432/tcp from the task SG."
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.cache_from_tasks[0].from_port == 6379 &&
      aws_vpc_security_group_ingress_rule.cache_from_tasks[0].referenced_security_group_id == aws_security_group.tasks.id
    )
    error_message = "Cache must accept only 6379/tcp from the task SG."
  }

  assert {
    condition = (
      length(aws_vpc_security_group_egress_rule.tasks_https_internet) == 1 &&
      aws_vpc_security_group_egress_rule.tasks_https_internet[0].from_port == 443 &&
      length(aws_vpc_security_group_egress_rule.tasks_https_endpoints) == 0 &&
      length(aws_security_group.endpoints) == 0
    )
    error_message = "NAT mode: tasks egress 443 only, no endpoint SG."
  }

  assert {
    condition = alltrue([
      for d in [
        aws_vpc_security_group_egress_rule.alb_to_tasks.description,
        aws_vpc_security_group_ingress_rule.tasks_from_alb.description,
        aws_vpc_security_group_ingress_rule.db_from_tasks.description,
        aws_vpc_security_group_egress_rule.tasks_to_db.description,
      ] : length(d) > 0
    ])
    error_message = "Every rule needs a description."
  }

  # The admin API is reached from the runner's security group only: no CIDR anywhere.
  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.tasks_from_runner.referenced_security_group_id == aws_security_group.runner.id &&
      aws_vpc_security_group_ingress_rule.tasks_from_runner.cidr_ipv4 == null &&
      aws_vpc_security_group_ingress_rule.tasks_from_runner.from_port == 4000 &&
      aws_vpc_security_group_ingress_rule.tasks_from_runner.to_port == 4000 &&
      aws_vpc_security_group_egress_rule.runner_to_tasks.referenced_security_group_id == aws_security_group.tasks.id &&
      aws_vpc_security_group_egress_rule.runner_to_tasks.from_port == 4000 &&
      aws_vpc_security_group_egress_rule.runner_https.from_port == 443 &&
      aws_vpc_security_group_egress_rule.runner_https.to_port == 443
    )
    error_message = "The runner may reach only the tasks' proxy port and HTTPS out; the tasks admit it by security group."
  }
}

run "endpoint_mode_chain" {
  command = apply

  variables {
    cache_enabled     = false
    endpoints_enabled = true
    s3_prefix_list_id = "pl-78a54011"
  }

  assert {
    condition = (
      length(aws_vpc_security_group_egress_rule.tasks_https_internet) == 0 &&
      aws_vpc_security_group_egress_rule.tasks_https_endpoints[0].referenced_security_group_id == aws_security_group.endpoints[0].id &&
      aws_vpc_security_group_egress_rule.tasks_https_s3[0].prefix_list_id == "pl-78a54011" &&
      aws_vpc_security_group_ingress_rule.endpoints_from_tasks[0].referenced_security_group_id == aws_security_group.tasks.id &&
      aws_vpc_security_group_ingress_rule.endpoints_from_tasks[0].from_port == 443
    )
    error_message = "Endpoint mode: tasks reach only the endpoint SG and the S3 prefix list on 443."
  }

  assert {
    condition     = length(aws_security_group.cache) == 0 && length(aws_vpc_security_group_egress_rule.tasks_to_cache) == 0
    error_message = "No cache rules when the cache is disabled."
  }
}
