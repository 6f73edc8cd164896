# The account bootstrap against the mock provider: the roles' trust, what the apply role may never
# do, and how the state bucket is protected. (The rehearsal applies it against the AWS emulator.)

mock_provider "aws" {
  source = "../tests/mocks/aws"
  # Known at plan time: the state bucket refuses destruction (prevent_destroy), so these tests only plan.
  override_during = plan
}

variables {
  github_repository = "example-org/llm-gateway-gitops"
}

run "bootstrap" {
  command = plan

  assert {
    condition     = module.terraform_apply_role.subjects == tolist(["repo:example-org/llm-gateway-gitops:environment:production:job_workflow_ref:example-org/llm-gateway-gitops/.github/workflows/deploy.yml@refs/heads/main"])
    error_message = "terraform apply runs only from deploy.yml on main, in the production environment."
  }

  assert {
    condition     = module.terraform_plan_role.subjects == tolist(["repo:example-org/llm-gateway-gitops:environment:pr-plan:job_workflow_ref:example-org/llm-gateway-gitops/.github/workflows/pr.yml@refs/pull/*/merge"])
    error_message = "The read-only Terraform role is for pull requests of pr.yml, approved in the pr-plan environment only."
  }

  assert {
    condition = toset(flatten([for st in jsondecode(local.protect_bootstrap_policy).Statement : st.Action if st.Effect == "Deny"])) == toset([
      "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
      "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:DeleteRole", "iam:PutRolePermissionsBoundary",
      "iam:DeleteRolePermissionsBoundary", "iam:TagRole", "iam:UntagRole",
      "iam:DeleteOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint",
      "iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
      "iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider",
      "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketPolicy", "s3:PutBucketVersioning",
      "s3:PutLifecycleConfiguration", "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock",
      "s3:PutBucketOwnershipControls", "s3:DeleteObjectVersion",
      "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:DisableKeyRotation",
    ])
    error_message = "The apply role must be denied changing the Terraform roles, the OIDC provider, the state bucket's protections and the state key."
  }

  assert {
    condition     = [for st in jsondecode(local.protect_bootstrap_policy).Statement : st.Resource if st.Sid == "DenyChangingTheTerraformRoles"] == ["arn:aws:iam::123456789012:role/llm-gateway-terraform-*"]
    error_message = "The role deny must cover both Terraform roles."
  }

  assert {
    condition = alltrue([for st in jsondecode(local.stack_iam_policy).Statement :
    st.Resource == "*" ? toset(st.Action) == toset(["iam:GetOpenIDConnectProvider", "iam:ListOpenIDConnectProviders"]) : true])
    error_message = "IAM on every resource is limited to reading the OIDC provider; roles and policies only under the stack's name."
  }

  assert {
    condition     = output.github_actions_secrets.TF_STATE_KMS_KEY_ARN == "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    error_message = "The secrets output names the state key."
  }

}
