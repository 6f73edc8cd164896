# modules/gateway was one module doing eight jobs; its resources now live in one module per job
# (main.tf). These blocks move an existing state there without destroying anything:
# tests/rehearsal/plan_from_old_state.py shows the plan of a stack applied before the split.
# Keep them while any deployed state may predate the split.

moved {
  from = module.gateway.aws_s3_bucket.config
  to   = module.config_bucket.aws_s3_bucket.this[0]
}

moved {
  from = module.gateway.aws_s3_bucket_public_access_block.config
  to   = module.config_bucket.aws_s3_bucket_public_access_block.this
}

moved {
  from = module.gateway.aws_s3_bucket_ownership_controls.config
  to   = module.config_bucket.aws_s3_bucket_ownership_controls.this
}

moved {
  from = module.gateway.aws_s3_bucket_versioning.config
  to   = module.config_bucket.aws_s3_bucket_versioning.this
}

moved {
  from = module.gateway.aws_s3_bucket_server_side_encryption_configuration.config
  to   = module.config_bucket.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = module.gateway.aws_s3_bucket_lifecycle_configuration.config
  to   = module.config_bucket.aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = module.gateway.aws_s3_bucket_policy.config
  to   = module.config_bucket.aws_s3_bucket_policy.this
}

moved {
  from = module.gateway.aws_s3_bucket.logs
  to   = module.access_logs_bucket.aws_s3_bucket.this[0]
}

moved {
  from = module.gateway.aws_s3_bucket_public_access_block.logs
  to   = module.access_logs_bucket.aws_s3_bucket_public_access_block.this
}

moved {
  from = module.gateway.aws_s3_bucket_ownership_controls.logs
  to   = module.access_logs_bucket.aws_s3_bucket_ownership_controls.this
}

moved {
  from = module.gateway.aws_s3_bucket_versioning.logs
  to   = module.access_logs_bucket.aws_s3_bucket_versioning.this
}

moved {
  from = module.gateway.aws_s3_bucket_server_side_encryption_configuration.logs
  to   = module.access_logs_bucket.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = module.gateway.aws_s3_bucket_lifecycle_configuration.logs
  to   = module.access_logs_bucket.aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = module.gateway.aws_s3_bucket_policy.logs
  to   = module.access_logs_bucket.aws_s3_bucket_policy.this
}

moved {
  from = module.gateway.aws_s3_bucket_logging.config
  to   = module.config_bucket.aws_s3_bucket_logging.this[0]
}

moved {
  from = module.gateway.aws_lb.this
  to   = module.load_balancer.aws_lb.this
}

moved {
  from = module.gateway.aws_lb_target_group.this
  to   = module.load_balancer.aws_lb_target_group.this
}

moved {
  from = module.gateway.aws_lb_listener.https
  to   = module.load_balancer.aws_lb_listener.https
}

moved {
  from = module.gateway.aws_lb_listener_rule.admin_from_allowed_sources
  to   = module.load_balancer.aws_lb_listener_rule.admin_from_allowed_sources
}

moved {
  from = module.gateway.aws_lb_listener_rule.public_model_api
  to   = module.load_balancer.aws_lb_listener_rule.public_model_api
}

moved {
  from = module.gateway.aws_lb_listener.http_redirect
  to   = module.load_balancer.aws_lb_listener.http_redirect
}

moved {
  from = module.gateway.aws_ecs_cluster.this
  to   = module.ecs_cluster.aws_ecs_cluster.this
}

moved {
  from = module.gateway.aws_ecs_cluster_capacity_providers.this
  to   = module.ecs_cluster.aws_ecs_cluster_capacity_providers.this
}

moved {
  from = module.gateway.aws_iam_role.execution
  to   = module.gateway_task_roles.aws_iam_role.this["execution"]
}

moved {
  from = module.gateway.aws_iam_role_policy.execution
  to   = module.gateway_task_roles.aws_iam_role_policy.execution
}

moved {
  from = module.gateway.aws_iam_role.task
  to   = module.gateway_task_roles.aws_iam_role.this["task"]
}

moved {
  from = module.gateway.aws_iam_role_policy.task_bedrock
  to   = module.gateway_task_roles.aws_iam_role_policy.task_bedrock
}

moved {
  from = module.gateway.aws_iam_role_policy.task_count_tokens
  to   = module.gateway_task_roles.aws_iam_role_policy.task_count_tokens
}

moved {
  from = module.gateway.aws_iam_role_policy.task_config
  to   = module.gateway_task_roles.aws_iam_role_policy.task_config
}

moved {
  from = module.gateway.aws_iam_role.db_bootstrap_execution
  to   = module.gateway_task_roles.aws_iam_role.this["db_bootstrap_execution"]
}

moved {
  from = module.gateway.aws_iam_role_policy.db_bootstrap_execution
  to   = module.gateway_task_roles.aws_iam_role_policy.db_bootstrap_execution
}

moved {
  from = module.gateway.aws_s3_object.config
  to   = module.gateway_tasks.aws_s3_object.config
}

moved {
  from = module.gateway.aws_cloudwatch_log_group.this
  to   = module.gateway_tasks.aws_cloudwatch_log_group.this
}

moved {
  from = module.gateway.aws_ecs_task_definition.gateway
  to   = module.gateway_tasks.aws_ecs_task_definition.gateway
}

moved {
  from = module.gateway.aws_ecs_task_definition.migrate
  to   = module.gateway_tasks.aws_ecs_task_definition.migrate
}

moved {
  from = module.gateway.aws_ecs_task_definition.db_bootstrap
  to   = module.gateway_tasks.aws_ecs_task_definition.db_bootstrap
}

moved {
  from = module.gateway.aws_ecs_service.this
  to   = module.gateway_service.aws_ecs_service.this
}

moved {
  from = module.gateway.aws_appautoscaling_target.this
  to   = module.gateway_service.aws_appautoscaling_target.this
}

moved {
  from = module.gateway.aws_appautoscaling_policy.cpu
  to   = module.gateway_service.aws_appautoscaling_policy.this["cpu"]
}

moved {
  from = module.gateway.aws_appautoscaling_policy.requests
  to   = module.gateway_service.aws_appautoscaling_policy.this["requests"]
}
