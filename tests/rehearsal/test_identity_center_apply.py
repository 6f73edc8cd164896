"""terraform/modules/identity-center applied to the AWS emulator (moto's sso-admin and identitystore plus
tests/rehearsal/aws_emulator.py), wired as terraform/environments/production wires it: the employee
key-access policy goes into the permission set unchanged, gitops_user_id is mapped from the directory, and
the permission set is assigned to the group. Read back through the AWS APIs, then planned again: no change.

A root of its own rather than a step of the deploy rehearsal: the production root manages Identity Center
only with identity_center_instance_arn set, and the rehearsal's twenty minutes are not needed to show it.
"""

from __future__ import annotations

import json
import shutil

import pytest
from stack import REGION, REPO, Rehearsal

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")]

ROOT = """
provider "aws" {{
  region = "{region}"
}}

module "employee_key_access" {{
  source = "{modules}/employee-key-access"

  name        = "llm-gateway"
  kms_key_arn = "arn:aws:kms:{region}:123456789012:key/11111111-2222-3333-4444-555555555555"
}}

module "identity_center" {{
  source = "{modules}/identity-center"

  instance_arn       = "{instance_arn}"
  group_id           = "{group_id}"
  inline_policy_json = module.employee_key_access.policy_json
  session_tag_key    = module.employee_key_access.owner_tag_key
  tags               = {{ Project = "llm-gateway-gitops" }}
}}

output "policy_arn" {{
  value = module.employee_key_access.policy_arn
}}

output "permission_set_arn" {{
  value = module.identity_center.permission_set_arn
}}
"""


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory):
    rh = Rehearsal(tmp_path_factory.mktemp("identity-center"))
    rh.repo.mkdir()
    rh.start_emulator()
    try:
        instance = rh.aws("sso-admin").list_instances()["Instances"][0]
        group_id = rh.aws("identitystore").create_group(IdentityStoreId=instance["IdentityStoreId"],
                                                        DisplayName="llm-gateway-users")["GroupId"]
        (rh.repo / "main.tf").write_text(ROOT.format(region=REGION, modules=REPO / "terraform" / "modules",
                                                     instance_arn=instance["InstanceArn"], group_id=group_id))
        rh.run(["terraform", "init", "-input=false", "-no-color"])
        rh.run(["terraform", "apply", "-auto-approve", "-input=false", "-no-color"])
        outputs = json.loads(rh.run(["terraform", "output", "-json"]).stdout)
        yield rh, instance, group_id, {k: v["value"] for k, v in outputs.items()}
    finally:
        rh.close()


def test_the_instance_maps_gitops_user_id_from_the_directory(applied):
    rh, instance, _, _ = applied
    config = rh.aws("sso-admin").describe_instance_access_control_attribute_configuration(
        InstanceArn=instance["InstanceArn"])
    assert config["InstanceAccessControlAttributeConfiguration"]["AccessControlAttributes"] == [
        {"Key": "gitops_user_id", "Value": {"Source": ["${path:userName}"]}}]


def test_the_permission_set_carries_the_key_access_policy(applied):
    rh, instance, _, out = applied
    sso, iam = rh.aws("sso-admin"), rh.aws("iam")
    inline = sso.get_inline_policy_for_permission_set(InstanceArn=instance["InstanceArn"],
                                                      PermissionSetArn=out["permission_set_arn"])["InlinePolicy"]
    version = iam.get_policy(PolicyArn=out["policy_arn"])["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=out["policy_arn"], VersionId=version)["PolicyVersion"]["Document"]
    employee_policy = json.loads(document) if isinstance(document, str) else document
    assert json.loads(inline) == employee_policy
    read = next(s for s in employee_policy["Statement"] if s["Sid"] == "ReadOwnKeySecret")
    assert read["Condition"]["StringEquals"]["secretsmanager:ResourceTag/gitops_user_id"] == \
        "${aws:PrincipalTag/gitops_user_id}"
    described = sso.describe_permission_set(InstanceArn=instance["InstanceArn"],
                                            PermissionSetArn=out["permission_set_arn"])["PermissionSet"]
    assert (described["Name"], described["SessionDuration"]) == ("LLMGatewayKeyAccess", "PT1H")


def test_the_permission_set_is_assigned_to_the_group_in_this_account(applied):
    rh, instance, group_id, out = applied
    account = rh.aws("sts").get_caller_identity()["Account"]
    assignments = rh.aws("sso-admin").list_account_assignments(
        InstanceArn=instance["InstanceArn"], AccountId=account, PermissionSetArn=out["permission_set_arn"])
    assert [(a["PrincipalType"], a["PrincipalId"]) for a in assignments["AccountAssignments"]] == [("GROUP", group_id)]


def test_a_second_plan_changes_nothing(applied):
    rh, *_ = applied
    rh.run(["terraform", "plan", "-detailed-exitcode", "-input=false", "-no-color"])  # 2 would be a change
