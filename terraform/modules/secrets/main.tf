# Secret *containers* only. No aws_secretsmanager_secret_version here: values are
# written once, out of band, by terraform/scripts/bootstrap-secrets
# (aws secretsmanager get-random-password | put-secret-value), so they never
# appear in Terraform state or plan output. ECS injects them with valueFrom.

resource "aws_secretsmanager_secret" "master_key" {
  #checkov:skip=CKV2_AWS_57:LiteLLM master key is rotated by a documented runbook (re-issue + rolling restart), not a Lambda rotator
  name                    = "${var.name_prefix}litellm-master-key"
  description             = "LiteLLM proxy master key (admin API). Value set by bootstrap-secrets, never by Terraform."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
  tags                    = var.tags
}

resource "aws_secretsmanager_secret" "salt_key" {
  #checkov:skip=CKV2_AWS_57:LiteLLM salt key encrypts stored credentials and must not rotate automatically
  name                    = "${var.name_prefix}litellm-salt-key"
  description             = "LiteLLM salt key (encrypts credentials in the DB). Value set by bootstrap-secrets, never by Terraform."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
  tags                    = var.tags
}
