# The AWS values every `terraform test` in terraform/ mocks: one account (123456789012) in
# ap-south-1, with ARNs and IDs shaped like the real ones so that policies, names and
# validations see realistic input. Test files load this with
#
#   mock_provider "aws" {
#     source = "../../tests/mocks/aws"    # relative to the module or root under test
#   }
#
# and add inline mock_resource / mock_data blocks only for values a test needs to differ. A test
# that only plans and asserts on these values sets `override_during = plan` on its mock_provider.

# ------------------------------------------------------------------ data sources
mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/test"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "ap-south-1"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition = "aws"
  }
}

# The ELB account that delivers ALB access logs in ap-south-1.
mock_data "aws_elb_service_account" {
  defaults = {
    arn = "arn:aws:iam::718504428378:root"
  }
}

mock_data "aws_iam_openid_connect_provider" {
  defaults = {
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
  }
}

# The project's permissions boundary, which terraform/bootstrap creates.
mock_data "aws_iam_policy" {
  defaults = {
    arn = "arn:aws:iam::123456789012:policy/llm-gateway-boundary"
  }
}

# ------------------------------------------------------------------ resources
mock_resource "aws_kms_key" {
  defaults = {
    arn = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::123456789012:role/mock-role"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn = "arn:aws:s3:::llm-gateway-mock-bucket"
  }
}

mock_resource "aws_secretsmanager_secret" {
  defaults = {
    arn = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/mock-AbCdEf"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:ap-south-1:123456789012:log-group:/ecs/llm-gateway"
  }
}

mock_resource "aws_sns_topic" {
  defaults = {
    arn = "arn:aws:sns:ap-south-1:123456789012:llm-gateway-alarms"
  }
}

mock_resource "aws_vpc" {
  defaults = {
    id = "vpc-0123456789abcdef0"
  }
}

mock_resource "aws_security_group" {
  defaults = {
    id = "sg-0123456789abcdef0"
  }
}

mock_resource "aws_vpc_endpoint" {
  defaults = {
    prefix_list_id = "pl-78a54011"
  }
}

mock_resource "aws_lb" {
  defaults = {
    arn        = "arn:aws:elasticloadbalancing:ap-south-1:123456789012:loadbalancer/app/llm-gateway-alb/50dc6c495c0c9188"
    arn_suffix = "app/llm-gateway-alb/50dc6c495c0c9188"
    dns_name   = "llm-gateway-alb-123.ap-south-1.elb.amazonaws.com"
  }
}

mock_resource "aws_lb_listener" {
  defaults = {
    arn = "arn:aws:elasticloadbalancing:ap-south-1:123456789012:listener/app/llm-gateway-alb/50dc6c495c0c9188/f2f7dc8efc522ab2"
  }
}

mock_resource "aws_lb_target_group" {
  defaults = {
    arn        = "arn:aws:elasticloadbalancing:ap-south-1:123456789012:targetgroup/llm-gateway-tg/73e2d6bc24d8a067"
    arn_suffix = "targetgroup/llm-gateway-tg/73e2d6bc24d8a067"
  }
}

mock_resource "aws_ecs_cluster" {
  defaults = {
    arn = "arn:aws:ecs:ap-south-1:123456789012:cluster/llm-gateway"
  }
}

mock_resource "aws_ecs_task_definition" {
  defaults = {
    arn = "arn:aws:ecs:ap-south-1:123456789012:task-definition/llm-gateway:1"
  }
}

mock_resource "aws_db_instance" {
  defaults = {
    port    = 5432
    address = "llm-gateway.mock.ap-south-1.rds.amazonaws.com"
    master_user_secret = [{
      secret_arn    = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:rds!db-mock-AbCdEf" # pragma: allowlist secret
      secret_status = "active"                                                                   # pragma: allowlist secret
      kms_key_id    = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    }]
  }
}

mock_resource "aws_elasticache_replication_group" {
  defaults = {
    port                     = 6379
    primary_endpoint_address = "master.llm-gateway.mock.aps1.cache.amazonaws.com"
  }
}

mock_resource "aws_dynamodb_table" {
  defaults = {
    arn = "arn:aws:dynamodb:ap-south-1:123456789012:table/llm-gateway-reconciler-state"
  }
}

mock_resource "aws_service_discovery_private_dns_namespace" {
  defaults = {
    id  = "ns-0123456789abcdef"
    arn = "arn:aws:servicediscovery:ap-south-1:123456789012:namespace/ns-0123456789abcdef"
  }
}

mock_resource "aws_service_discovery_service" {
  defaults = {
    id  = "srv-0123456789abcdef"
    arn = "arn:aws:servicediscovery:ap-south-1:123456789012:service/srv-0123456789abcdef"
  }
}

mock_resource "aws_codebuild_project" {
  defaults = {
    arn = "arn:aws:codebuild:ap-south-1:123456789012:project/llm-gateway-runner"
  }
}

mock_resource "aws_ssoadmin_permission_set" {
  defaults = {
    arn = "arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-2222222222222222"
  }
}

# A guarded tier's guardrail (modules/bedrock-guardrails). Every guardrail gets these; a test that needs
# two apart overrides one of them.
mock_resource "aws_bedrock_guardrail" {
  defaults = {
    guardrail_id  = "abcd1234efgh"
    guardrail_arn = "arn:aws:bedrock:ap-south-1:123456789012:guardrail/abcd1234efgh"
    status        = "READY"
    version       = "DRAFT"
  }
}

mock_resource "aws_bedrock_guardrail_version" {
  defaults = {
    version = "1"
  }
}
