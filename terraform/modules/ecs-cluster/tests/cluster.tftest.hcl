mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  name = "llm-gateway"
}

run "fargate_with_spot_above_the_base" {
  command = apply

  assert {
    condition = (
      toset(aws_ecs_cluster_capacity_providers.this.capacity_providers) == toset(["FARGATE", "FARGATE_SPOT"]) &&
      length([for s in aws_ecs_cluster_capacity_providers.this.default_capacity_provider_strategy : s if s.capacity_provider == "FARGATE" && s.base == 1 && s.weight == 0]) == 1 &&
      length([for s in aws_ecs_cluster_capacity_providers.this.default_capacity_provider_strategy : s if s.capacity_provider == "FARGATE_SPOT" && s.weight == 1]) == 1
    )
    error_message = "By default one on-demand FARGATE task, everything above it on FARGATE_SPOT."
  }

  assert {
    condition     = one(aws_ecs_cluster.this.setting).value == "enabled"
    error_message = "Container Insights is on by default."
  }

  assert {
    condition     = output.name == "llm-gateway" && output.arn == "arn:aws:ecs:ap-south-1:123456789012:cluster/llm-gateway"
    error_message = "Outputs name the cluster."
  }
}
