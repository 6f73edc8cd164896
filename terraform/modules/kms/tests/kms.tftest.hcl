mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  name = "llm-gateway"
}

run "no_user_key_secrets_no_statements" {
  command = apply

  assert {
    condition     = length([for st in jsondecode(aws_kms_key.this.policy).Statement : st if st.Effect == "Deny"]) == 0
    error_message = "Without user_key_secrets the key policy has no Deny statement."
  }
}

run "bound_to_the_user_key_secrets" {
  command = apply

  variables {
    user_key_secrets = {
      secret_prefix   = "llm-gateway/users/" # pragma: allowlist secret
      writer_role_arn = "arn:aws:iam::123456789012:role/llm-gateway-reconciler"
    }
  }

  # Every Deny is about the user key secrets: other uses of the key (RDS, logs, SNS) are untouched.
  assert {
    condition = alltrue([for st in jsondecode(aws_kms_key.this.policy).Statement :
      st.Condition.StringLike["kms:EncryptionContext:SecretARN"] == "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/users/*" # pragma: allowlist secret
    if st.Effect == "Deny"])
    error_message = "Each Deny must apply only to the user key secrets' encryption context."
  }

  assert {
    condition = one([for st in jsondecode(aws_kms_key.this.policy).Statement :
      st.Condition.StringNotLike["kms:EncryptionContext:SecretARN"] if st.Sid == "DecryptOnlyTheOwnersKeySecret"
    ]) == "arn:aws:secretsmanager:ap-south-1:123456789012:secret:llm-gateway/users/$${aws:PrincipalTag/gitops_user_id}-??????"
    error_message = "Decryption must be bound to the secret named after the caller's gitops_user_id session tag."
  }

  assert {
    condition = one([for st in jsondecode(aws_kms_key.this.policy).Statement :
      st.Condition.ArnNotLike["aws:PrincipalArn"] if st.Sid == "OnlyIdentityCenterRolesDecryptUserKeySecrets"
    ]) == ["arn:aws:iam::123456789012:role/llm-gateway-reconciler", "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*"]
    error_message = "Only the writer and Identity Center roles may decrypt user key secrets."
  }
}

run "writer_must_be_a_role_without_path" {
  command = plan

  variables {
    user_key_secrets = {
      secret_prefix   = "llm-gateway/users/" # pragma: allowlist secret
      writer_role_arn = "arn:aws:iam::123456789012:role/ci/llm-gateway-reconciler"
    }
  }

  expect_failures = [var.user_key_secrets]
}
