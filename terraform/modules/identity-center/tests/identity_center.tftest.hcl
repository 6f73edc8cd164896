# The module as the production root wires it: the permission set's inline policy is the
# employee-key-access module's document (applied in the same run), and the instance maps
# gitops_user_id from the directory.
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
  instance_arn = "arn:aws:sso:::instance/ssoins-1111111111111111"
  group_id     = "9a67a2c4-5081-70a4-0c5e-6f1c2b3a4d5e"
}

run "key_access_policy" {
  command = apply

  module {
    source = "../employee-key-access"
  }

  variables {
    name        = "llm-gateway"
    kms_key_arn = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }
}

run "wired_like_production" {
  command = apply

  variables {
    inline_policy_json = run.key_access_policy.policy_json
    session_tag_key    = run.key_access_policy.owner_tag_key
  }

  assert {
    condition     = jsondecode(aws_ssoadmin_permission_set_inline_policy.this.inline_policy) == jsondecode(run.key_access_policy.policy_json)
    error_message = "The permission set's inline policy must be the employee key-access policy, unchanged."
  }

  assert {
    condition     = one([for st in jsondecode(aws_ssoadmin_permission_set_inline_policy.this.inline_policy).Statement : st.Condition.StringEquals["secretsmanager:ResourceTag/gitops_user_id"] if st.Sid == "ReadOwnKeySecret"]) == "$${aws:PrincipalTag/gitops_user_id}"
    error_message = "The policy in the permission set matches the key secret's owner tag to the session tag."
  }

  assert {
    condition     = aws_ssoadmin_permission_set_inline_policy.this.permission_set_arn == aws_ssoadmin_permission_set.this.arn
    error_message = "The inline policy belongs to this permission set."
  }

  assert {
    condition = jsonencode({ for a in aws_ssoadmin_instance_access_control_attributes.this.attribute : a.key => tolist(one(a.value).source) }) == jsonencode({
      gitops_user_id = ["$${path:userName}"]
    })
    error_message = "The instance maps exactly gitops_user_id, from the directory's user name."
  }

  assert {
    condition     = aws_ssoadmin_instance_access_control_attributes.this.instance_arn == var.instance_arn && aws_ssoadmin_permission_set.this.instance_arn == var.instance_arn
    error_message = "Attributes and permission set are in the given instance."
  }

  assert {
    condition     = aws_ssoadmin_permission_set.this.session_duration == "PT1H"
    error_message = "Sessions last an hour unless the root says otherwise."
  }

  assert {
    condition = (
      aws_ssoadmin_account_assignment.this.principal_type == "GROUP" &&
      aws_ssoadmin_account_assignment.this.principal_id == var.group_id &&
      aws_ssoadmin_account_assignment.this.target_type == "AWS_ACCOUNT" &&
      aws_ssoadmin_account_assignment.this.target_id == "123456789012" &&
      aws_ssoadmin_account_assignment.this.permission_set_arn == aws_ssoadmin_permission_set.this.arn
    )
    error_message = "The permission set is assigned to the group, in this account only."
  }
}

run "keeps_the_instances_other_attributes" {
  command = plan

  variables {
    inline_policy_json              = "{}"
    user_id_attribute               = "$${path:enterprise.employeeNumber}"
    other_access_control_attributes = { CostCenter = "$${path:enterprise.costCenter}" }
  }

  assert {
    condition = jsonencode({ for a in aws_ssoadmin_instance_access_control_attributes.this.attribute : a.key => tolist(one(a.value).source) }) == jsonencode({
      gitops_user_id = ["$${path:enterprise.employeeNumber}"]
      CostCenter     = ["$${path:enterprise.costCenter}"]
    })
    error_message = "The mapping uses the given attribute and keeps the instance's other attributes."
  }
}
