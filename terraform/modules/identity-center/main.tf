# IAM Identity Center for the gateway's employees: the session tag the key-access policy matches, a
# permission set that carries that policy, and its assignment to the employees' group in this account.
#
# The session tag: Identity Center's "attributes for access control" put gitops_user_id (the owner tag
# gatewayctl writes on each key secret) on every session, its value read from the directory user. The
# permission set's inline policy is the employee-key-access module's policy document, passed in, so the
# policy is written once. Permission sets and account assignments can only be managed from the
# organization's management account or Identity Center's delegated administrator account.
data "aws_caller_identity" "current" {}

resource "aws_ssoadmin_instance_access_control_attributes" "this" {
  instance_arn = var.instance_arn

  attribute {
    key = var.session_tag_key
    value {
      source = [var.user_id_attribute]
    }
  }

  # The instance has one attribute configuration: attributes other teams use are kept in it.
  dynamic "attribute" {
    for_each = var.other_access_control_attributes
    content {
      key = attribute.key
      value {
        source = [attribute.value]
      }
    }
  }
}

resource "aws_ssoadmin_permission_set" "this" {
  name             = var.permission_set_name
  description      = "Read your own LLM gateway key (ABAC on the ${var.session_tag_key} session tag)"
  instance_arn     = var.instance_arn
  session_duration = var.session_duration
  tags             = var.tags
}

resource "aws_ssoadmin_permission_set_inline_policy" "this" {
  instance_arn       = var.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.this.arn
  inline_policy      = var.inline_policy_json
}

# The group's members get the permission set in this account. The assignment provisions the
# permission set, so it waits for the policy to be in it.
resource "aws_ssoadmin_account_assignment" "this" {
  instance_arn       = var.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.this.arn
  principal_type     = "GROUP"
  principal_id       = var.group_id
  target_type        = "AWS_ACCOUNT"
  target_id          = data.aws_caller_identity.current.account_id

  depends_on = [aws_ssoadmin_permission_set_inline_policy.this]
}
