# A CodeBuild-hosted GitHub Actions runner in the gateway VPC's private subnets: the only place the
# LiteLLM admin API can be reached from (docs/adr/0006-admin-api-not-on-the-internet.md). GitHub
# sends a workflow_job "queued" event for every job; CodeBuild starts one ephemeral build, which
# registers itself as the runner of that job, for jobs whose runs-on is
#   codebuild-<project name>-${{ github.run_id }}-${{ github.run_attempt }}
# and whose workflow is one of trusted_workflows.
#
# The build's own role (below) only writes its logs and attaches the build to the VPC. The jobs
# still assume their AWS roles through GitHub OIDC, as on any runner: nothing a job could do with
# the build's credentials reaches the gateway, its secrets or its state.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # Known at plan time, so the role's trust and policy can name the project before it exists.
  project_arn        = "arn:${local.partition}:codebuild:${local.region}:${local.account_id}:project/${var.name}"
  ec2_arn            = "arn:${local.partition}:ec2:${local.region}:${local.account_id}"
  subnet_arns        = [for s in var.subnet_ids : "${local.ec2_arn}:subnet/${s}"]
  security_group_arn = "${local.ec2_arn}:security-group/${var.security_group_id}"
  network_interfaces = "${local.ec2_arn}:network-interface/*"
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/codebuild/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_iam_role" "build" {
  name                 = "${var.name}-build"
  description          = "CodeBuild service role of the ${var.name} GitHub Actions runner: logs and VPC attachment only"
  permissions_boundary = var.permissions_boundary
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "codebuild.amazonaws.com" }
      Action    = "sts:AssumeRole"
      # Only this project, in this account (confused deputy).
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
        ArnLike      = { "aws:SourceArn" = local.project_arn }
      }
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "build" {
  name = "runner-logs-and-vpc"
  role = aws_iam_role.build.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "WriteOwnBuildLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.this.arn}:*"
      },
      {
        # What CodeBuild documents for a project in a VPC; EC2 has no resource-level scoping for these.
        Sid      = "DescribeTheVpc"
        Effect   = "Allow"
        Action   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeDhcpOptions", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs"]
        Resource = "*"
      },
      {
        # The build's network interface: only in the runner subnets, only with the runner security group.
        Sid      = "CreateBuildInterfaceInRunnerSubnets"
        Effect   = "Allow"
        Action   = "ec2:CreateNetworkInterface"
        Resource = concat([local.network_interfaces, local.security_group_arn], local.subnet_arns)
      },
      {
        Sid       = "DeleteBuildInterfacesInRunnerSubnets"
        Effect    = "Allow"
        Action    = "ec2:DeleteNetworkInterface"
        Resource  = local.network_interfaces
        Condition = { ArnEquals = { "ec2:Subnet" = local.subnet_arns } }
      },
      {
        Sid      = "NetworkInterfacesInRunnerSubnetsForCodeBuildOnly"
        Effect   = "Allow"
        Action   = "ec2:CreateNetworkInterfacePermission"
        Resource = local.network_interfaces
        Condition = {
          StringEquals = { "ec2:AuthorizedService" = "codebuild.amazonaws.com" }
          ArnEquals    = { "ec2:Subnet" = local.subnet_arns }
        }
      },
      {
        # The runner registers with GitHub through the account's connection to it.
        Sid      = "UseTheGitHubConnection"
        Effect   = "Allow"
        Action   = ["codeconnections:GetConnectionToken", "codeconnections:GetConnection", "codestar-connections:GetConnectionToken", "codestar-connections:GetConnection"]
        Resource = var.github_connection_arn
      },
    ]
  })
}

resource "aws_codebuild_project" "this" {
  #checkov:skip=CKV_AWS_147:The runner project keeps no artifacts and no cache, so there is nothing for a project key to encrypt; its logs use the stack's KMS key
  name                   = var.name
  description            = "GitHub Actions runner in the VPC for ${var.github_repository}'s gateway jobs (admin API)"
  service_role           = aws_iam_role.build.arn
  build_timeout          = var.build_timeout_minutes
  queued_timeout         = var.queued_timeout_minutes
  concurrent_build_limit = var.concurrent_build_limit

  artifacts {
    type = "NO_ARTIFACTS"
  }

  environment {
    type                        = "LINUX_CONTAINER"
    compute_type                = var.compute_type
    image                       = var.image
    image_pull_credentials_type = "CODEBUILD"
    privileged_mode             = false
  }

  source {
    type     = "GITHUB"
    location = "https://github.com/${var.github_repository}.git"

    auth {
      type     = "CODECONNECTIONS"
      resource = var.github_connection_arn
    }
  }

  vpc_config {
    vpc_id             = var.vpc_id
    subnets            = var.subnet_ids
    security_group_ids = [var.security_group_id]
  }

  logs_config {
    cloudwatch_logs {
      status     = "ENABLED"
      group_name = aws_cloudwatch_log_group.this.name
    }

    s3_logs {
      status = "DISABLED"
    }
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.build]
}

resource "aws_codebuild_webhook" "this" {
  project_name = aws_codebuild_project.this.name
  build_type   = "BUILD"

  filter_group {
    filter {
      type    = "EVENT"
      pattern = "WORKFLOW_JOB_QUEUED"
    }

    filter {
      type    = "WORKFLOW_NAME"
      pattern = "^(${join("|", var.trusted_workflows)})$"
    }
  }
}
