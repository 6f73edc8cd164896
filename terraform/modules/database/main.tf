locals {
  family = "postgres${split(".", var.engine_version)[0]}"
}

resource "aws_db_subnet_group" "this" {
  name       = var.identifier
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_db_parameter_group" "this" {
  name        = "${var.identifier}-${local.family}"
  family      = local.family
  description = "${var.identifier}: TLS-only connections, connection logging"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_connections"
    value = "1"
  }

  parameter {
    name  = "log_disconnections"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_157:Single-AZ on purpose for cost (db.t4g.micro); automated backups + final snapshot cover recovery, see docs/architecture.md
  #checkov:skip=CKV_AWS_118:Enhanced monitoring needs an extra role and costs CloudWatch; basic RDS metrics + alarms are used instead
  #checkov:skip=CKV_AWS_353:Performance Insights is not offered for db.t4g.micro
  #checkov:skip=CKV_AWS_354:Performance Insights is not offered for db.t4g.micro, so there is nothing to encrypt
  identifier     = var.identifier
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  db_name  = var.database_name
  username = var.master_username
  # RDS generates and stores the master password in Secrets Manager: never in state.
  manage_master_user_password   = true
  master_user_secret_kms_key_id = var.kms_key_arn

  iam_database_authentication_enabled = true

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = var.security_group_ids
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false
  multi_az               = false
  port                   = 5432

  backup_retention_period   = var.backup_retention_days
  backup_window             = "19:00-20:00"
  maintenance_window        = "sun:20:30-sun:21:30"
  copy_tags_to_snapshot     = true
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.identifier}-final"

  auto_minor_version_upgrade      = true
  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]
  apply_immediately               = false

  tags = var.tags
}

# Application login (NOT the master user). Terraform creates the container only;
# terraform/scripts/bootstrap-secrets writes {username,password,DATABASE_URL} and the
# one-off "db-bootstrap" ECS task creates the role in PostgreSQL.
resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:Rotating the app login needs a rolling restart of the gateway; done by the documented bootstrap runbook
  name                    = "${var.secret_name_prefix}db-app"
  description             = "PostgreSQL application login for LiteLLM (keys: username, password, DATABASE_URL). Populated outside Terraform."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_in_days
  tags                    = var.tags
}
