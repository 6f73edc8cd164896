mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  name                  = "llm-gateway"
  github_repository     = "example-org/llm-gateway-gitops"
  master_key_secret_arn = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/litellm-master-key-AbCdEf" # pragma: allowlist secret
  kms_key_arn           = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  oidc_provider_arn     = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
}

run "plan_role_reads_only_the_viewer_key_outside_the_user_prefix" {
  command = apply

  assert {
    condition = [
      for st in jsondecode(local.plan_policy).Statement : st.Resource
      if contains(flatten([st.Action]), "secretsmanager:GetSecretValue")
    ] == ["arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/service/gatewayctl-plan-viewer-??????"]
    error_message = "The plan role may read exactly one secret value: the viewer key, under llm-gateway/service/."
  }

  assert {
    condition = alltrue([
      for st in jsondecode(local.reconciler_policy).Statement :
      !contains(flatten([st.Action]), "secretsmanager:GetSecretValue") || st.Resource == var.master_key_secret_arn
    ])
    error_message = "The apply role reads no secret value but the master key (per-user and viewer secrets are write-only to it)."
  }

  assert {
    condition = length([
      for st in jsondecode(local.reconciler_policy).Statement : st
      if st.Resource == "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/service/gatewayctl-plan-viewer-??????" && contains(flatten([st.Action]), "secretsmanager:CreateSecret")
    ]) == 1
    error_message = "The apply role can create and update the viewer key secret where gatewayctl writes it."
  }
}

run "roles_trust_only_their_workflow_jobs" {
  command = plan

  assert {
    condition = module.reconciler_role.subjects == sort([
      "repo:example-org/llm-gateway-gitops:environment:production:job_workflow_ref:example-org/llm-gateway-gitops/.github/workflows/deploy.yml@refs/heads/main",
      "repo:example-org/llm-gateway-gitops:environment:production:job_workflow_ref:example-org/llm-gateway-gitops/.github/workflows/rotate.yml@refs/heads/main",
    ])
    error_message = "The reconciler role trusts deploy.yml and rotate.yml on main in the production environment, and nothing else (the chargeback has its own role)."
  }

  assert {
    condition = module.plan_role[0].subjects == sort([
      "repo:example-org/llm-gateway-gitops:environment:drift:job_workflow_ref:example-org/llm-gateway-gitops/.github/workflows/drift.yml@refs/heads/main",
      "repo:example-org/llm-gateway-gitops:environment:pr-plan:job_workflow_ref:example-org/llm-gateway-gitops/.github/workflows/pr.yml@refs/pull/*/merge",
    ])
    error_message = "The plan role trusts approved pull-request plans (pr.yml in pr-plan) and the nightly drift report (drift.yml on main in drift), never a bare pull_request token."
  }
}

run "rejects_viewer_secret_under_the_user_prefix" {
  command = plan

  variables {
    plan_viewer_secret_name = "llm-gateway/users/gatewayctl-plan-viewer" # pragma: allowlist secret
  }

  expect_failures = [var.plan_viewer_secret_name]
}

run "ses_sending_only_from_the_verified_identity_as_the_one_address" {
  command = plan

  variables {
    notification_sender_identity_arn = "arn:aws:ses:ap-south-1:123456789012:identity/example.com"
    notification_sender_address      = "llm-gateway@example.com"
  }

  assert {
    condition = [
      for st in jsondecode(local.reconciler_policy).Statement : [st.Resource, st.Condition]
      if contains(flatten([st.Action]), "ses:SendEmail")
      ] == [["arn:aws:ses:ap-south-1:123456789012:identity/example.com",
    { StringEquals = { "ses:FromAddress" = "llm-gateway@example.com" } }]]
    error_message = "The reconciler may send through the sender identity only, as the one sender address."
  }
}


run "only_the_reconciler_role_writes_the_state_table" {
  command = apply

  assert {
    condition = [
      for st in jsondecode(aws_dynamodb_resource_policy.state.policy).Statement : st
      if st.Effect == "Deny" && st.Principal == "*" && st.Resource == aws_dynamodb_table.state.arn
      && toset(st.Action) == toset(["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"])
      && st.Condition.ArnNotEquals["aws:PrincipalArn"] == module.reconciler_role.arn
    ] != []
    error_message = "The table's resource policy must deny every item write to any principal but the reconciler role."
  }

  assert {
    condition = [
      for st in jsondecode(local.reconciler_policy).Statement : st.Resource
      if contains(flatten([st.Action]), "dynamodb:PutItem")
    ] == [aws_dynamodb_table.state.arn]
    error_message = "The reconciler role writes items in the state table and nowhere else in DynamoDB."
  }

  assert {
    condition     = !strcontains(local.plan_policy, "dynamodb")
    error_message = "The plan role (pull requests, drift) gets nothing on the state table."
  }

  assert {
    condition     = aws_dynamodb_table.state.server_side_encryption[0].kms_key_arn == var.kms_key_arn && aws_dynamodb_table.state.point_in_time_recovery[0].enabled
    error_message = "The state table is encrypted with the project's key and recoverable."
  }
}

run "no_chargeback_role_unless_asked" {
  command = plan

  assert {
    condition     = length(module.chargeback_role) == 0 && !strcontains(local.reconciler_policy, "s3:") && !strcontains(local.plan_policy, "s3:")
    error_message = "Without create_chargeback_role there is no chargeback role, and neither other role has any S3 permission."
  }
}

run "chargeback_role_reads_the_spend_key_and_only_puts_evidence_under_its_prefix" {
  command = plan

  variables {
    create_chargeback_role = true
    chargeback_bucket_arn  = "arn:aws:s3:::llm-gateway-chargeback-20261207"
    chargeback_kms_key_arn = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = module.chargeback_role[0].subjects == sort([
      "repo:example-org/llm-gateway-gitops:environment:production:job_workflow_ref:example-org/llm-gateway-gitops/.github/workflows/chargeback.yml@refs/heads/main",
    ])
    error_message = "The chargeback role trusts chargeback.yml on main in the production environment, and nothing else."
  }

  assert {
    condition = [
      for st in jsondecode(local.chargeback_policy).Statement : { action = st.Action, resource = st.Resource }
      if length([for a in flatten([st.Action]) : a if startswith(a, "s3:") || startswith(a, "secretsmanager:")]) > 0
      ] == [
      { action = "secretsmanager:GetSecretValue", resource = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/service/gatewayctl-spend-reader-??????" },
      { action = "s3:PutObject", resource = "arn:aws:s3:::llm-gateway-chargeback-20261207/chargeback/*" },
    ]
    error_message = "The chargeback role reads one secret value, the spend-reader key (never the master key), and may only put objects under chargeback/ (no reads, no deletes, no retention changes)."
  }

  assert {
    condition = [
      for st in jsondecode(local.chargeback_policy).Statement : st.Condition.StringEquals["kms:ViaService"]
      if st.Sid == "EncryptChargebackEvidence"
    ] == ["s3.ap-south-1.amazonaws.com"]
    error_message = "The chargeback bucket's key is usable by the chargeback role only through S3."
  }

  assert {
    condition     = !strcontains(local.reconciler_policy, "s3:") && !strcontains(local.plan_policy, "s3:")
    error_message = "Neither the reconciler role nor the plan role gets anything of the chargeback bucket."
  }

  assert {
    condition = length([
      for st in jsondecode(local.reconciler_policy).Statement : st
      if st.Resource == "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/service/gatewayctl-spend-reader-??????" && contains(flatten([st.Action]), "secretsmanager:CreateSecret") && !contains(flatten([st.Action]), "secretsmanager:GetSecretValue")
    ]) == 1
    error_message = "The apply role writes (never reads) the spend-reader key's secret."
  }
}

run "rejects_a_chargeback_role_without_a_bucket" {
  command = plan

  variables {
    create_chargeback_role = true
  }

  expect_failures = [var.create_chargeback_role]
}

run "rejects_a_chargeback_object_path_or_wildcard" {
  command = plan

  variables {
    chargeback_bucket_arn = "arn:aws:s3:::llm-gateway-*"
  }

  expect_failures = [var.chargeback_bucket_arn]
}

run "no_directory_role_without_a_directory" {
  command = plan

  assert {
    condition     = length(module.directory_role) == 0 && output.directory_role_arn == null
    error_message = "Without the Identity Store there is no directory role."
  }
}

run "directory_role_only_lists_the_store_and_the_group" {
  command = plan

  variables {
    directory = { identity_store_id = "d-1234567890", group_id = "9a67a2c4-5081-70a4-0c5e-6f1c2b3a4d5e" }
  }

  assert {
    condition = jsonencode({ for st in jsondecode(local.directory_policy).Statement : st.Sid => { a = st.Action, r = flatten([st.Resource]) } }) == jsonencode({
      ListDirectoryUsers = { a = "identitystore:ListUsers", r = ["arn:aws:identitystore::*:identitystore/d-1234567890"] }
      ListTheEmployeesGroupMembers = { a = "identitystore:ListGroupMemberships", r = [
        "arn:aws:identitystore::*:identitystore/d-1234567890", "arn:aws:identitystore:::group/9a67a2c4-5081-70a4-0c5e-6f1c2b3a4d5e",
      ] }
    })
    error_message = "The directory check lists the store's users and the one group's members, nothing else."
  }

  assert {
    condition = module.directory_role[0].subjects == tolist([
      "repo:example-org/llm-gateway-gitops:environment:directory:job_workflow_ref:example-org/llm-gateway-gitops/.github/workflows/drift.yml@refs/heads/main",
    ])
    error_message = "Only drift.yml on main, in the directory environment, may assume the directory role."
  }
}
