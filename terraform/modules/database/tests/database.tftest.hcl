mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  identifier         = "llm-gateway"
  subnet_ids         = ["subnet-0aaa", "subnet-0bbb"]
  security_group_ids = ["sg-0ccc"]
  kms_key_arn        = "arn:aws:kms:ap-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "rds_is_private_encrypted_and_tls_only" {
  command = apply

  assert {
    condition     = aws_db_instance.this.publicly_accessible == false
    error_message = "RDS must not be publicly accessible."
  }

  assert {
    condition     = aws_db_instance.this.storage_encrypted && aws_db_instance.this.kms_key_id == var.kms_key_arn
    error_message = "RDS storage must be encrypted with the customer-managed key."
  }

  assert {
    condition     = aws_db_instance.this.manage_master_user_password == true && aws_db_instance.this.password == null
    error_message = "Master password must be managed by RDS in Secrets Manager, never in Terraform."
  }

  assert {
    condition     = aws_db_instance.this.instance_class == "db.t4g.micro"
    error_message = "Default instance class is db.t4g.micro."
  }

  assert {
    condition = (
      aws_db_instance.this.deletion_protection &&
      aws_db_instance.this.skip_final_snapshot == false &&
      aws_db_instance.this.backup_retention_period >= 7
    )
    error_message = "Backups, deletion protection and a final snapshot are required."
  }

  assert {
    condition     = anytrue([for p in aws_db_parameter_group.this.parameter : p.name == "rds.force_ssl" && p.value == "1"])
    error_message = "Parameter group must force SSL."
  }
}
