mock_provider "aws" {
  source = "../../tests/mocks/aws"

  mock_resource "aws_iam_policy" {
    defaults = {
      arn  = "arn:aws:iam::123456789012:policy/llm-gateway-employee-key-access"
      path = "/"
    }
  }
}

variables {
  name        = "llm-gateway"
  kms_key_arn = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "abac_policy_shape" {
  command = apply

  variables {
    attach_to_role_names = ["EmployeeDeveloper"]
    identity_center_permission_sets = [{
      instance_arn       = "arn:aws:sso:::instance/ssoins-1111111111111111"
      permission_set_arn = "arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-2222222222222222"
    }]
  }

  # Exactly read + describe on the key secrets, and only where the owner tag equals the caller's session tag.
  assert {
    condition = toset(flatten([
      for st in jsondecode(aws_iam_policy.this.policy).Statement : flatten([st.Action]) if st.Sid == "ReadOwnKeySecret"
    ])) == toset(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"])
    error_message = "Employees may only read and describe their key secret."
  }

  assert {
    condition = one([
      for st in jsondecode(aws_iam_policy.this.policy).Statement : st.Condition.StringEquals["secretsmanager:ResourceTag/gitops_user_id"]
      if st.Sid == "ReadOwnKeySecret"
    ]) == "$${aws:PrincipalTag/gitops_user_id}"
    error_message = "The secret's gitops_user_id tag must equal the principal's session tag."
  }

  assert {
    condition = one([
      for st in jsondecode(aws_iam_policy.this.policy).Statement : st.Condition.Null["aws:PrincipalTag/gitops_user_id"]
      if st.Sid == "ReadOwnKeySecret"
    ]) == "false"
    error_message = "A principal without the session tag must get nothing."
  }

  assert {
    condition = one([
      for st in jsondecode(aws_iam_policy.this.policy).Statement : st.Condition.StringEquals["secretsmanager:ResourceTag/managed-by"]
      if st.Sid == "ReadOwnKeySecret"
    ]) == "llm-gateway-gitops"
    error_message = "Only secrets gatewayctl manages may be readable."
  }

  assert {
    condition = one([
      for st in jsondecode(aws_iam_policy.this.policy).Statement : st.Resource if st.Sid == "ReadOwnKeySecret"
    ]) == "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/users/*"
    error_message = "Read access must be scoped to the per-user key secrets."
  }

  # No wildcard actions and no wildcard resources anywhere.
  assert {
    condition = alltrue([
      for st in jsondecode(aws_iam_policy.this.policy).Statement :
      alltrue([for a in flatten([st.Action]) : !strcontains(a, "*")]) && alltrue([for r in flatten([st.Resource]) : r != "*"])
    ])
    error_message = "No wildcard actions or resources."
  }

  assert {
    condition = one([
      for st in jsondecode(aws_iam_policy.this.policy).Statement : st if st.Action == "kms:Decrypt"
      && try(st.Condition.StringEquals["kms:ViaService"], "") == "secretsmanager.ap-south-1.amazonaws.com"
      && try(st.Condition.StringLike["kms:EncryptionContext:SecretARN"], "") == "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/users/*"
    ]) != null
    error_message = "KMS decrypt only through Secrets Manager, and only for the key secrets."
  }

  assert {
    condition     = length(jsondecode(aws_iam_policy.this.policy).Statement) == 2
    error_message = "Nothing but the two statements."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.this["EmployeeDeveloper"].role == "EmployeeDeveloper"
    error_message = "The policy attaches to the given role."
  }

  assert {
    condition     = one(values(aws_ssoadmin_customer_managed_policy_attachment.this)).customer_managed_policy_reference[0].name == "llm-gateway-employee-key-access"
    error_message = "The policy attaches to the Identity Center permission set by name."
  }

  assert {
    condition     = output.owner_tag_key == "gitops_user_id"
    error_message = "The owner tag key is gatewayctl's OWNER_TAG."
  }
}

run "nothing_attached_by_default" {
  command = plan

  assert {
    condition     = length(aws_iam_role_policy_attachment.this) == 0 && length(aws_ssoadmin_customer_managed_policy_attachment.this) == 0
    error_message = "Attachments are opt-in."
  }
}

run "rejects_a_wildcard_prefix" {
  command = plan

  variables {
    user_secret_prefix = "llm-gateway/*/" # pragma: allowlist secret
  }

  expect_failures = [var.user_secret_prefix]
}

run "rejects_role_arns" {
  command = plan

  variables {
    attach_to_role_names = ["arn:aws:iam::123456789012:role/EmployeeDeveloper"]
  }

  expect_failures = [var.attach_to_role_names]
}
