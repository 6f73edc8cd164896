mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
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

  mock_resource "aws_iam_openid_connect_provider" {
    defaults = {
      arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    }
  }
}

variables {
  name                  = "llm-gateway"
  github_repository     = "example-org/llm-gateway-gitops"
  master_key_secret_arn = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/litellm-master-key-AbCdEf" # pragma: allowlist secret
  kms_key_arn           = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "plan_role_reads_only_the_viewer_key_outside_the_user_prefix" {
  command = apply

  assert {
    condition = [
      for st in jsondecode(aws_iam_role_policy.plan[0].policy).Statement : st.Resource
      if contains(flatten([st.Action]), "secretsmanager:GetSecretValue")
    ] == ["arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/service/gatewayctl-plan-viewer-??????"]
    error_message = "The plan role may read exactly one secret value: the viewer key, under llm-gateway/service/."
  }

  assert {
    condition = alltrue([
      for st in jsondecode(aws_iam_role_policy.reconciler.policy).Statement :
      !contains(flatten([st.Action]), "secretsmanager:GetSecretValue") || st.Resource == var.master_key_secret_arn
    ])
    error_message = "The apply role reads no secret value but the master key (per-user and viewer secrets are write-only to it)."
  }

  assert {
    condition = length([
      for st in jsondecode(aws_iam_role_policy.reconciler.policy).Statement : st
      if st.Resource == "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/service/gatewayctl-plan-viewer-??????" && contains(flatten([st.Action]), "secretsmanager:CreateSecret")
    ]) == 1
    error_message = "The apply role can create and update the viewer key secret where gatewayctl writes it."
  }
}

run "rejects_viewer_secret_under_the_user_prefix" {
  command = plan

  variables {
    plan_viewer_secret_name = "llm-gateway/users/gatewayctl-plan-viewer" # pragma: allowlist secret
  }

  expect_failures = [var.plan_viewer_secret_name]
}
