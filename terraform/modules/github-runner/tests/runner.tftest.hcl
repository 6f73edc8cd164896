# The runner: in the VPC, for the named workflows' queued jobs only, with a role that writes logs
# and attaches to the VPC and nothing else.

mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  name                  = "llm-gateway-runner"
  github_repository     = "example-org/llm-gateway-gitops"
  github_connection_arn = "arn:aws:codeconnections:ap-south-1:123456789012:connection/0f0e0d0c-0b0a-0908-0706-050403020100"
  trusted_workflows     = ["deploy", "rotate", "drift"]
  vpc_id                = "vpc-0123456789abcdef0"
  subnet_ids            = ["subnet-0prv1", "subnet-0prv2"]
  security_group_id     = "sg-0runner"
  kms_key_arn           = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "runner_in_the_vpc" {
  command = apply

  assert {
    condition = (
      one(aws_codebuild_project.this.vpc_config).vpc_id == var.vpc_id &&
      toset(one(aws_codebuild_project.this.vpc_config).subnets) == toset(var.subnet_ids) &&
      one(aws_codebuild_project.this.vpc_config).security_group_ids == toset(["sg-0runner"]) &&
      one(aws_codebuild_project.this.environment).privileged_mode == false
    )
    error_message = "Builds run in the private subnets with the runner security group, unprivileged."
  }

  assert {
    condition = (
      [for g in aws_codebuild_webhook.this.filter_group : [for f in g.filter : "${f.type}=${f.pattern}"]] ==
      [["EVENT=WORKFLOW_JOB_QUEUED", "WORKFLOW_NAME=^(deploy|rotate|drift)$"]]
    )
    error_message = "Only queued jobs of the trusted workflows start a runner."
  }

  assert {
    condition     = output.runs_on == "codebuild-llm-gateway-runner-$${{ github.run_id }}-$${{ github.run_attempt }}"
    error_message = "The label a workflow's runs-on names."
  }

  assert {
    condition = (
      jsondecode(aws_iam_role.build.assume_role_policy).Statement[0].Principal.Service == "codebuild.amazonaws.com" &&
      jsondecode(aws_iam_role.build.assume_role_policy).Statement[0].Condition.ArnLike["aws:SourceArn"] == "arn:aws:codebuild:ap-south-1:123456789012:project/llm-gateway-runner"
    )
    error_message = "Only this CodeBuild project may use the build role."
  }

  # Least privilege: logs, the VPC attachment, the GitHub connection. No secrets, no KMS, no IAM,
  # no STS: the jobs assume their own roles through GitHub OIDC.
  assert {
    condition = toset(flatten([for s in jsondecode(aws_iam_role_policy.build.policy).Statement : s.Action])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents",
      "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeDhcpOptions", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs",
      "ec2:CreateNetworkInterfacePermission",
      "codeconnections:GetConnectionToken", "codeconnections:GetConnection",
      "codestar-connections:GetConnectionToken", "codestar-connections:GetConnection",
    ])
    error_message = "The build role may write its logs, attach to the VPC and use the GitHub connection, nothing else."
  }

  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.build.policy).Statement : s.Condition if s.Sid == "NetworkInterfacesInRunnerSubnetsForCodeBuildOnly"]) == {
      StringEquals = { "ec2:AuthorizedService" = "codebuild.amazonaws.com" }
      ArnEquals    = { "ec2:Subnet" = ["arn:aws:ec2:ap-south-1:123456789012:subnet/subnet-0prv1", "arn:aws:ec2:ap-south-1:123456789012:subnet/subnet-0prv2"] }
    }
    error_message = "Network interface permissions only for CodeBuild, only in the runner subnets."
  }

  assert {
    condition = toset(one([for s in jsondecode(aws_iam_role_policy.build.policy).Statement : s.Resource if s.Sid == "CreateBuildInterfaceInRunnerSubnets"])) == toset([
      "arn:aws:ec2:ap-south-1:123456789012:network-interface/*",
      "arn:aws:ec2:ap-south-1:123456789012:security-group/sg-0runner",
      "arn:aws:ec2:ap-south-1:123456789012:subnet/subnet-0prv1",
      "arn:aws:ec2:ap-south-1:123456789012:subnet/subnet-0prv2",
    ])
    error_message = "The build's interface may be created only in the runner subnets with the runner security group."
  }
}

run "rejects_a_foreign_image" {
  command = plan

  variables {
    image = "ghcr.io/someone/runner:latest"
  }

  expect_failures = [var.image]
}
