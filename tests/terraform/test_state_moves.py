"""A state applied before the task roles joined module "gateway_tasks" keeps every resource the merge moved.

`terraform test` applies the production root as it was at PRE_MERGE (git history) with the mock
provider, then plans today's root on the same state (`state_key`). Each resource the merge touched must
plan to the identity it had (ARN, id; a task definition its family): a resource that would be destroyed
and re-created has unknown identity in the plan, so the assertion cannot even be evaluated.
environments/production/moved.tf is what makes it pass. Contents may differ: features since the merge
(guardrails, inference profiles) change policies and task definitions, and an ECS task definition is
replaced by a new revision whenever its containers change, so it is compared by family.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import CONFIG_TREES, REPO, TERRAFORM, copy_config, run_tf

pytestmark = pytest.mark.skipif(TERRAFORM is None, reason="terraform binary not found on PATH")

# main just before the merge of gateway-task-roles into gateway-tasks (environments/production/moved.tf).
PRE_MERGE = "76db4faf81c18e416ef4fb3272cfd8d73d698e5a"  # pragma: allowlist secret
PRODUCTION = Path("terraform/environments/production")

ROLE_RESOURCES = {
    "roles": "{ for k, v in aws_iam_role.this : k => v.arn }",
    "execution": "aws_iam_role_policy.execution.id",
    "task_bedrock": "aws_iam_role_policy.task_bedrock.id",
    "task_marketplace": "[for p in aws_iam_role_policy.task_marketplace : p.id]",
    "task_count_tokens": "aws_iam_role_policy.task_count_tokens.id",
    "task_config": "aws_iam_role_policy.task_config.id",
    "db_bootstrap_execution": "aws_iam_role_policy.db_bootstrap_execution.id",
}
TASK_RESOURCES = {
    "config": "aws_s3_object.config.id",
    "log_group": "aws_cloudwatch_log_group.this.arn",
    "gateway": "aws_ecs_task_definition.gateway.family",
    "migrate": "aws_ecs_task_definition.migrate.family",
    "db_bootstrap": "aws_ecs_task_definition.db_bootstrap.family",
}


def _objects_output(resources: dict[str, str]) -> str:
    body = "\n".join(f"    {key} = {address}" for key, address in resources.items())
    return f'output "zz_moved_objects" {{\n  value = {{\n{body}\n  }}\n}}\n'


def _assertions(resources: dict[str, str]) -> str:
    return "".join(
        f"""  assert {{
    condition     = output.zz_moved_objects.{key} == run.applied_before_the_merge.zz_moved_objects.{key}
    error_message = "{key} of module gateway_tasks would be re-created."
  }}
"""
        for key, address in resources.items()
    )


def _export(rev: str, dest: Path) -> Path:
    """terraform/ as it was at rev, beside today's policies/ and gateway/: the test is about where
    resources live, so what they are built from must be the same on both sides."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, "terraform"], cwd=REPO, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    for tree in CONFIG_TREES:
        if tree != "terraform":
            shutil.copytree(REPO / tree, dest / tree, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _production_variables() -> str:
    text = (REPO / PRODUCTION / "tests" / "production.tftest.hcl").read_text()
    block = re.search(r"^variables \{\n.*?^\}\n", text, flags=re.M | re.S)
    assert block, "production.tftest.hcl has no file-level variables block"
    return block.group(0)


def test_state_before_the_task_module_merge_plans_without_changes(tmp_path: Path, tf_env: dict[str, str]) -> None:
    old = _export(PRE_MERGE, tmp_path / "old")
    new = copy_config(tmp_path / "new")

    # Expose every touched resource as an output of its root: the old tree's two modules, the new one's one.
    (old / "terraform/modules/gateway-task-roles/zz_moved_objects.tf").write_text(_objects_output(ROLE_RESOURCES))
    (old / "terraform/modules/gateway-tasks/zz_moved_objects.tf").write_text(_objects_output(TASK_RESOURCES))
    (old / PRODUCTION / "zz_moved_objects.tf").write_text(
        'output "zz_moved_objects" {\n  value = merge(module.gateway_task_roles.zz_moved_objects,'
        " module.gateway_tasks.zz_moved_objects)\n}\n"
    )
    (new / "terraform/modules/gateway-tasks/zz_moved_objects.tf").write_text(
        _objects_output(ROLE_RESOURCES | TASK_RESOURCES)
    )
    (new / PRODUCTION / "zz_moved_objects.tf").write_text(
        'output "zz_moved_objects" {\n  value = module.gateway_tasks.zz_moved_objects\n}\n'
    )

    root = new / PRODUCTION
    old_root = Path("../../../../old") / PRODUCTION  # from the new root
    (root / "tests" / "zz_state_moves.tftest.hcl").write_text(
        f"""mock_provider "aws" {{
  source = "../../tests/mocks/aws"
}}

mock_provider "aws" {{
  alias  = "identity_center"
  source = "../../tests/mocks/aws"
}}

{_production_variables()}
run "applied_before_the_merge" {{
  state_key = "production"
  module {{
    source = "{old_root.as_posix()}"
  }}
}}

run "planned_after_the_merge" {{
  command   = plan
  state_key = "production"

{_assertions(ROLE_RESOURCES | TASK_RESOURCES)}}}
"""
    )
    res = run_tf(["init", "-backend=false", "-input=false", "-no-color"], root, tf_env)
    assert res.returncode == 0, f"terraform init failed:\n{res.stdout}\n{res.stderr}"
    res = run_tf(["test", "-no-color", "-filter=tests/zz_state_moves.tftest.hcl"], root, tf_env, timeout=600)
    assert res.returncode == 0, f"terraform test failed:\n{res.stdout}\n{res.stderr}"
    assert "Success! 2 passed, 0 failed" in res.stdout, res.stdout
