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
      "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion",
      "iam:TagPolicy", "iam:UntagPolicy", "iam:DeleteUserPermissionsBoundary",
      "iam:AttachUserPolicy", "iam:AttachGroupPolicy",
      "sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity",
      "secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue",
      "iam:DeleteOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint",
      "iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
      "iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider",
      "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketPolicy", "s3:PutBucketVersioning",
      "s3:PutLifecycleConfiguration", "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock",
      "s3:PutBucketOwnershipControls", "s3:DeleteObjectVersion",
      "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:DisableKeyRotation",
    ])
    error_message = "The apply role must be denied changing the Terraform roles, the boundary and its own policies, the OIDC provider, the state bucket's protections and the state key; attaching AWS-managed policies; assuming a stack role; reading secret values."
  }

  assert {
    condition     = [for st in jsondecode(local.protect_bootstrap_policy).Statement : st.Resource if st.Sid == "DenyChangingTheTerraformRoles"] == ["arn:aws:iam::123456789012:role/llm-gateway-terraform-*"]
    error_message = "The role deny must cover both Terraform roles."
  }

  assert {
    condition = [for st in jsondecode(local.protect_bootstrap_policy).Statement : st.Resource if st.Sid == "DenyChangingTheBoundaryAndTheTerraformPolicies"] == [[
      "arn:aws:iam::123456789012:policy/llm-gateway-terraform-*", "arn:aws:iam::123456789012:policy/llm-gateway-boundary",
    ]]
    error_message = "The boundary and the Terraform roles' own policies must be out of the apply role's reach."
  }

  assert {
    condition = alltrue([for st in jsondecode(local.protect_bootstrap_policy).Statement :
      st.Resource == "*" && st.Condition == { ArnLike = { "iam:PolicyARN" = "arn:aws:iam::aws:policy/*" } }
    if st.Sid == "DenyAttachingAwsManagedPolicies"])
    error_message = "No AWS-managed policy (AdministratorAccess, PowerUserAccess, IAMFullAccess, ...) may be attached by the apply role."
  }

  # Every statement that creates a role or gives one permissions requires the project's boundary on it.
  assert {
    condition = alltrue([for st in jsondecode(local.stack_iam_policy).Statement :
      try(st.Condition.StringEquals["iam:PermissionsBoundary"], "") == "arn:aws:iam::123456789012:policy/llm-gateway-boundary"
      if length(setintersection(toset(flatten([st.Action])), toset([
        "iam:*", "iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary",
    ]))) > 0])
    error_message = "iam:CreateRole, PutRolePolicy, AttachRolePolicy and PutRolePermissionsBoundary only with iam:PermissionsBoundary = the project's boundary."
  }

  assert {
    condition     = length([for st in jsondecode(local.stack_iam_policy).Statement : st if contains(flatten([st.Action]), "iam:AttachRolePolicy")]) == 1 && alltrue([for st in jsondecode(local.stack_iam_policy).Statement : st.Condition.ArnLike["iam:PolicyARN"] == "arn:aws:iam::123456789012:policy/llm-gateway-*" if contains(flatten([st.Action]), "iam:AttachRolePolicy")])
    error_message = "Only the stack's own managed policies may be attached."
  }

  assert {
    condition = alltrue([for st in jsondecode(local.stack_iam_policy).Statement :
    st.Resource == "*" ? toset(st.Action) == toset(["iam:GetOpenIDConnectProvider", "iam:ListOpenIDConnectProviders", "iam:ListPolicies"]) : true])
    error_message = "IAM on every resource is limited to finding the OIDC provider and the boundary; roles and policies only under the stack's name."
  }

  assert {
    condition     = !anytrue([for st in jsondecode(local.stack_iam_policy).Statement : anytrue([for a in flatten([st.Action]) : strcontains(a, "*")])])
    error_message = "No IAM wildcard action: each one the apply role has is named."
  }

  # Nothing of IAM writes, STS or secret values in the services the Terraform roles use.
  assert {
    condition = !anytrue([for st in concat(jsondecode(local.apply_services_policy).Statement, jsondecode(local.apply_pipeline_policy).Statement, jsondecode(local.plan_reads_policy).Statement) :
      anytrue([for a in flatten([st.Action]) : st.Effect == "Allow" && (startswith(a, "iam:") && !startswith(a, "iam:Get") && !startswith(a, "iam:List") || startswith(a, "sts:") || a == "secretsmanager:GetSecretValue" || a == "ecs:ExecuteCommand" || startswith(a, "logs:Get") || startswith(a, "logs:Filter"))])
    ])
    error_message = "The services policies grant no IAM but reads, no STS, no secret values, no exec into tasks and no log events."
  }

  assert {
    condition     = length(local.apply_services_policy) <= 6144 && length(local.apply_pipeline_policy) <= 6144 && length(local.plan_reads_policy) <= 6144 && length(local.permissions_boundary_policy) <= 6144
    error_message = "A managed policy holds at most 6,144 characters."
  }

  # No IAM and no role chaining, but passing the break-glass task's execution role to ECS
  # (modules/break-glass): every other IAM action on it, and IAM on every other resource, denied.
  assert {
    condition = jsonencode([for st in jsondecode(local.permissions_boundary_policy).Statement : st if st.Effect == "Deny"]) == jsonencode([
      { Sid = "NoRoleChaining", Effect = "Deny", Action = ["sts:AssumeRole", "organizations:*", "account:*"], Resource = "*" },
      { Sid = "NoIam", Effect = "Deny", Action = "iam:*", NotResource = "arn:aws:iam::123456789012:role/llm-gateway-break-glass-task-execution" },
      { Sid = "NoIamButPassingTheBreakGlassTaskRole", Effect = "Deny", NotAction = "iam:PassRole", Resource = "arn:aws:iam::123456789012:role/llm-gateway-break-glass-task-execution" },
      ]) && jsonencode([
      for st in jsondecode(local.permissions_boundary_policy).Statement : st
      if st.Effect == "Allow" && anytrue([for a in flatten([try(st.Action, [])]) : startswith(a, "iam:") || startswith(a, "sts:")])
      ]) == jsonencode([{
        Sid       = "PassTheBreakGlassTaskRoleToEcs"
        Effect    = "Allow"
        Action    = "iam:PassRole"
        Resource  = "arn:aws:iam::123456789012:role/llm-gateway-break-glass-task-execution"
        Condition = { StringEquals = { "iam:PassedToService" = "ecs-tasks.amazonaws.com" } }
    }])
    error_message = "The boundary allows no IAM and no role chaining, but passing the break-glass task's execution role to ECS."
  }

  assert {
    condition = jsonencode([for st in jsondecode(local.permissions_boundary_policy).Statement : st if startswith(try(flatten([st.Action])[0], ""), "ecs:")]) == jsonencode([{
      Sid      = "RunTheBreakGlassTask"
      Effect   = "Allow"
      Action   = ["ecs:RunTask", "ecs:DescribeTasks"]
      Resource = ["arn:aws:ecs:ap-south-1:123456789012:task-definition/llm-gateway-break-glass:*", "arn:aws:ecs:ap-south-1:123456789012:task/*"]
    }])
    error_message = "The only tasks a stack role may start are the break-glass task's."
  }

  assert {
    condition = [
      for st in jsondecode(local.permissions_boundary_policy).Statement : { action = st.Action, resource = st.Resource }
      if st.Effect == "Allow" && anytrue([for a in flatten([try(st.Action, [])]) : startswith(a, "s3:") && a != "s3:GetObject"])
    ] == [{ action = "s3:PutObject", resource = "arn:aws:s3:::llm-gateway-chargeback-*/*" }]
    error_message = "The only S3 write the stack's roles may get is putting objects into the chargeback evidence bucket (the reconciler role, scripts/ci/monthly-chargeback)."
  }

  assert {
    condition     = output.permissions_boundary_arn == "arn:aws:iam::123456789012:policy/llm-gateway-boundary"
    error_message = "The bootstrap names the boundary environments/production looks up."
  }

  assert {
    condition     = output.github_actions_secrets.TF_STATE_KMS_KEY_ARN == "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    error_message = "The secrets output names the state key."
  }

}
