# The task roles moved from module "gateway_task_roles" into module "gateway_tasks" (the two took
# each other's outputs). These blocks move a state applied from main at 76db4fa, or any earlier
# revision since the module split (2154980), without destroying or re-creating a role or policy;
# tests/terraform/test_state_moves.py plans this tree against such a state and fails on any change.
# A state from before the split (resources under module "gateway") must first be applied at 76db4fa,
# the last revision with those moves (CHANGELOG).

moved {
  from = module.gateway_task_roles.aws_iam_role.this
  to   = module.gateway_tasks.aws_iam_role.this
}

moved {
  from = module.gateway_task_roles.aws_iam_role_policy.execution
  to   = module.gateway_tasks.aws_iam_role_policy.execution
}

moved {
  from = module.gateway_task_roles.aws_iam_role_policy.task_bedrock
  to   = module.gateway_tasks.aws_iam_role_policy.task_bedrock
}

moved {
  from = module.gateway_task_roles.aws_iam_role_policy.task_marketplace
  to   = module.gateway_tasks.aws_iam_role_policy.task_marketplace
}

moved {
  from = module.gateway_task_roles.aws_iam_role_policy.task_count_tokens
  to   = module.gateway_tasks.aws_iam_role_policy.task_count_tokens
}

moved {
  from = module.gateway_task_roles.aws_iam_role_policy.task_config
  to   = module.gateway_tasks.aws_iam_role_policy.task_config
}

moved {
  from = module.gateway_task_roles.aws_iam_role_policy.db_bootstrap_execution
  to   = module.gateway_tasks.aws_iam_role_policy.db_bootstrap_execution
}
