"""The Terraform roles of terraform/bootstrap, applied to the AWS emulator, judged by cloudsplaining (issue 19,
"Roles that cannot escalate"), and the same analysis over the policy they had before, which it must reject.

The deploy rehearsal (test_deploy_rehearsal.py) runs the same analysis over the whole stack as deployed.
"""

from __future__ import annotations

import json
import shutil

import iam_analysis
import pytest
from stack import Rehearsal

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("terraform") is None,
                                                   reason="terraform is not on PATH")]

APPLY_ROLE = "llm-gateway-terraform-apply"
PLAN_ROLE = "llm-gateway-terraform-plan"
# What terraform/bootstrap gave the apply role before issue 19: PowerUserAccess, and all of IAM on the
# stack's roles and policies.
OLD_MANAGE_STACK_IAM = {"Version": "2012-10-17", "Statement": [{
    "Sid": "ManageStackRolesAndTheirPolicies", "Effect": "Allow", "Action": "iam:*",
    "Resource": ["arn:aws:iam::123456789012:role/llm-gateway-*", "arn:aws:iam::123456789012:policy/llm-gateway-*"]}]}


@pytest.fixture(scope="module")
def bootstrapped(tmp_path_factory: pytest.TempPathFactory):
    """terraform/bootstrap applied to a fresh emulator (local state): its IAM dump and cloudsplaining's
    results, then the emulator, for the mutation."""
    rh = Rehearsal(tmp_path_factory.mktemp("iam"))
    rh.copy_repository()
    rh.start_emulator()
    try:
        root = "terraform/bootstrap"
        (rh.repo / root / "zz_local_backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
        rh.run(["terraform", f"-chdir={root}", "init", "-input=false", "-no-color"])
        rh.run(["terraform", f"-chdir={root}", "apply", "-input=false", "-no-color", "-auto-approve"])
        boundary = rh.terraform_output(root)["permissions_boundary_arn"]
        details = iam_analysis.dump(rh.aws("iam"))
        yield {"rh": rh, "details": details, "boundary": boundary,
               "results": iam_analysis.scan(details, rh.workdir / "cloudsplaining")}
    finally:
        rh.close()


@pytest.mark.parametrize("role", [APPLY_ROLE, PLAN_ROLE])
def test_cloudsplaining_finds_no_high_risk_in_the_terraform_roles(bootstrapped, role):
    assert iam_analysis.risks(bootstrapped["results"], role) == {}


def test_judged_by_every_statement_only_the_boundary_guarded_iam_can_escalate(bootstrapped):
    """`-aR`: cloudsplaining ignores resources and conditions. Escalation then shows only in the apply role's
    IAM policy, whose grants the boundary caps (test_every_iam_grant_of_the_apply_role_requires_the_boundary)."""
    strict = iam_analysis.scan(bootstrapped["details"], bootstrapped["rh"].workdir / "cloudsplaining-aR",
                               flag_all_risky_actions=True)
    assert iam_analysis.risks(strict, PLAN_ROLE).get("PrivilegeEscalation") is None
    escalations = iam_analysis.risks(strict, APPLY_ROLE).get("PrivilegeEscalation", [])
    assert escalations and {e.split(":")[0] for e in escalations} == {"manage-stack-iam"}, escalations


def test_the_terraform_roles_carry_no_aws_managed_policy(bootstrapped):
    roles = {r["RoleName"]: r for r in bootstrapped["details"]["RoleDetailList"]}
    for role in (APPLY_ROLE, PLAN_ROLE):
        attached = [a["PolicyArn"] for a in roles[role]["AttachedManagedPolicies"]]
        assert attached and not [a for a in attached if ":iam::aws:policy/" in a], (role, attached)


def test_every_iam_grant_of_the_apply_role_requires_the_boundary(bootstrapped):
    assert bootstrapped["boundary"] == "arn:aws:iam::123456789012:policy/llm-gateway-boundary"
    assert iam_analysis.boundary_gaps(bootstrapped["details"], bootstrapped["boundary"], [], APPLY_ROLE) == []


def test_the_boundary_allows_no_iam_but_passing_the_break_glass_task_role(bootstrapped):
    boundary = next(p for p in bootstrapped["details"]["Policies"] if p["Arn"] == bootstrapped["boundary"])
    document = next(v["Document"] for v in boundary["PolicyVersionList"] if v["IsDefaultVersion"])
    document = json.loads(document) if isinstance(document, str) else document
    iam_or_sts = [st for st in document["Statement"] if st["Effect"] == "Allow"
                  and any(a.startswith(("iam:", "sts:")) for a in iam_analysis.as_list(st["Action"]))]
    # The one exception: passing the break-glass task's execution role to ECS (modules/break-glass).
    break_glass_task_role = "arn:aws:iam::123456789012:role/llm-gateway-break-glass-task-execution"
    assert iam_or_sts == [{"Sid": "PassTheBreakGlassTaskRoleToEcs", "Effect": "Allow", "Action": "iam:PassRole",
                           "Resource": break_glass_task_role,
                           "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}]
    denied_elsewhere = [st for st in document["Statement"] if st["Effect"] == "Deny" and st.get("Action") == "iam:*"]
    assert denied_elsewhere == [{"Sid": "NoIam", "Effect": "Deny", "Action": "iam:*",
                                 "NotResource": break_glass_task_role}]
    # ... and cloudsplaining scanned it, as a customer-managed policy.
    scanned = bootstrapped["results"]["customer_managed_policies"].values()
    assert any(p["PolicyName"] == "llm-gateway-boundary" for p in scanned)


def test_the_analysis_rejects_the_old_apply_role_policy(bootstrapped):
    """Mutation check: the old grants put back on the deployed apply role."""
    rh = bootstrapped["rh"]
    iam = rh.aws("iam")
    iam.attach_role_policy(RoleName=APPLY_ROLE, PolicyArn="arn:aws:iam::aws:policy/PowerUserAccess")
    iam.put_role_policy(RoleName=APPLY_ROLE, PolicyName="manage-stack-iam",
                        PolicyDocument=json.dumps(OLD_MANAGE_STACK_IAM))
    details = iam_analysis.dump(iam)
    found = iam_analysis.risks(iam_analysis.scan(details, rh.workdir / "cloudsplaining-old"), APPLY_ROLE)

    escalations = found.get("PrivilegeEscalation", [])
    assert escalations and all(e.startswith("PowerUserAccess: ") for e in escalations), found
    assert "PowerUserAccess: ECSExecuteCommandOnRunningTask" in escalations  # exec into the gateway's tasks
    assert found.get("ResourceExposure") and found.get("CredentialsExposure")
    # The IAM half, which cloudsplaining does not see through the resource constraint: iam:* without the boundary.
    assert [g for g in iam_analysis.boundary_gaps(details, bootstrapped["boundary"], [], APPLY_ROLE)
            if "manage-stack-iam" in g and "iam:*" in g]


def test_the_analysis_finds_a_stack_role_without_the_boundary(bootstrapped):
    """What the rehearsal's IAM step checks of every stack role, shown to fail: one role as the modules made
    them before issue 19 (no permissions_boundary), one with the boundary."""
    iam = bootstrapped["rh"].aws("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    iam.create_role(RoleName="llm-gateway-ecs-task", AssumeRolePolicyDocument=trust)
    iam.create_role(RoleName="llm-gateway-vpc-flow-logs", AssumeRolePolicyDocument=trust,
                    PermissionsBoundary=bootstrapped["boundary"])
    gaps = iam_analysis.boundary_gaps(iam_analysis.dump(iam), bootstrapped["boundary"],
                                      ["llm-gateway-ecs-task", "llm-gateway-vpc-flow-logs"], PLAN_ROLE)
    assert gaps == ["llm-gateway-ecs-task: permissions boundary None"]
