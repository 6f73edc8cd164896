# Valkey (Redis OSS compatible) for cross-task rate limits, with TLS in transit,
# KMS at rest and RBAC. No password is ever given to Terraform:
#  * the mandatory "default" user is switched off;
#  * the application user is created with IAM authentication (no secret), which
#    LiteLLM cannot use, so the cache is unusable until bootstrap-secrets switches
#    the user to a random password it also stores in Secrets Manager
#    (aws elasticache modify-user --authentication-mode Type=password,...).
#  * ignore_changes keeps Terraform from flipping it back.
# See docs/adr/0003-redis-for-exact-rate-limits.md.

resource "aws_elasticache_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_elasticache_user" "default_disabled" {
  user_id       = "${var.name}-default-off"
  user_name     = "default"
  engine        = "valkey"
  access_string = "off -@all"

  authentication_mode {
    type = "no-password-required"
  }

  tags = var.tags
}

resource "aws_elasticache_user" "app" {
  user_id       = var.app_username
  user_name     = var.app_username
  engine        = "valkey"
  access_string = var.app_access_string

  authentication_mode {
    type = "iam"
  }

  tags = var.tags

  lifecycle {
    # bootstrap-secrets switches this user to a password kept only in Secrets Manager.
    ignore_changes = [authentication_mode, passwords, no_password_required]
  }
}

resource "aws_elasticache_user_group" "this" {
  user_group_id = var.name
  engine        = "valkey"
  user_ids      = [aws_elasticache_user.default_disabled.user_id, aws_elasticache_user.app.user_id]
  tags          = var.tags
}

resource "aws_elasticache_replication_group" "this" {
  #checkov:skip=CKV2_AWS_50:Single node by default for cost; counters are ephemeral, set num_cache_clusters >= 2 for automatic failover
  #checkov:skip=CKV_AWS_31:Auth uses an RBAC user group (password set out of band) instead of auth_token, which would be stored in Terraform state
  replication_group_id = var.name
  description          = "${var.name}: LiteLLM shared rate-limit counters"
  engine               = "valkey"
  engine_version       = var.engine_version
  node_type            = var.node_type
  num_cache_clusters   = var.num_cache_clusters
  port                 = var.port

  automatic_failover_enabled = var.num_cache_clusters > 1
  multi_az_enabled           = var.num_cache_clusters > 1

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = var.security_group_ids

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  user_group_ids             = [aws_elasticache_user_group.this.user_group_id]

  snapshot_retention_limit   = var.snapshot_retention_limit
  auto_minor_version_upgrade = true
  apply_immediately          = false

  tags = var.tags
}

resource "aws_secretsmanager_secret" "auth" {
  #checkov:skip=CKV2_AWS_57:Password rotation is the documented bootstrap-secrets --rotate-cache runbook (modify-user + rolling restart)
  name                    = "${var.secret_name_prefix}cache-auth"
  description             = "Valkey RBAC password of ${var.app_username} (key: password). Populated outside Terraform."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_in_days
  tags                    = var.tags
}
