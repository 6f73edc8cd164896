"""Employee self-service on moto: the reconciler writes each key secret under the name and with the
owner tag that the employee-key-access ABAC policy matches, and `gatewayctl whoami` / `key show
--me` find it from an assumed-role identity whose session tag carries the user id.

moto does not evaluate IAM conditions, so the policy's Allow/Deny itself is proven by the shape
assertions of terraform/modules/employee-key-access/tests; here the contract between the two
sides (secret name, tag key, tag value, managed-by value) is held to the Terraform defaults."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from helpers import clean_slate, employee_credentials, secret_key, secrets_client

from reconciler.desired.policy import MANAGED_BY
from reconciler.live.keystore import DEFAULT_PREFIX, DEFAULT_SERVICE_PREFIX, HASH_TAG, OWNER_TAG

pytestmark = pytest.mark.integration
MODULE = "terraform/modules/employee-key-access/variables.tf"


@pytest.fixture(autouse=True)
def clean(admin, aws_env):
    clean_slate(admin)


def tf_default(repo_root, variable: str) -> str:
    text = (repo_root / MODULE).read_text()
    block = re.search(rf'variable "{variable}" {{(.*?)\n}}', text, re.S).group(1)
    return re.search(r'default\s*=\s*"([^"]*)"', block).group(1)


def employee_env(aws_env: dict, session: str, user_id: str) -> dict:
    return {**aws_env, **employee_credentials(session, user_id)}


def test_secret_name_and_owner_tag_match_the_abac_policy(gatewayctl, repo_root):
    gatewayctl("apply", "--confirm", check=True)
    assert tf_default(repo_root, "owner_tag_key") == OWNER_TAG
    assert tf_default(repo_root, "managed_by") == MANAGED_BY
    assert tf_default(repo_root, "user_secret_prefix") == DEFAULT_PREFIX
    sm = secrets_client()
    for uid in ("alice", "bob", "carol"):
        # What the policy's condition selects for a session tagged gitops_user_id=<uid>: one secret, theirs.
        found = sm.list_secrets(Filters=[{"Key": "tag-key", "Values": [OWNER_TAG]},
                                         {"Key": "tag-value", "Values": [uid]}])["SecretList"]
        assert [s["Name"] for s in found] == [DEFAULT_PREFIX + uid]
        tags = {t["Key"]: t["Value"] for t in found[0]["Tags"]}
        assert tags[OWNER_TAG] == uid and tags["managed-by"] == MANAGED_BY


def test_key_show_me_finds_and_reveals_only_on_request(gatewayctl, aws_env):
    gatewayctl("apply", "--confirm", check=True)
    env = employee_env(aws_env, "alice@example.com", "alice")
    who = gatewayctl("whoami", env=env, check=True)
    assert "assumed-role/EmployeeDeveloper/alice@example.com" in who.stdout
    assert "gateway user:  alice" in who.stdout and "model-cheap" in who.stdout
    assert f"{DEFAULT_PREFIX}alice" in who.stdout

    key = secret_key("alice")
    shown = gatewayctl("key", "show", "--me", env=env, check=True)
    assert f"secret:        {DEFAULT_PREFIX}alice" in shown.stdout and "hidden" in shown.stdout
    assert key not in shown.stdout + shown.stderr
    revealed = gatewayctl("key", "show", "--me", "--reveal", env={**env, "CI": "", "GITHUB_ACTIONS": ""}, check=True)
    assert revealed.stdout == key + "\n" and key not in revealed.stderr


def test_reveal_in_ci_writes_only_to_a_terminal(gatewayctl, workspace, gateway, aws_env, tmp_path):
    """In CI a file, a pipe or a command substitution all end in a log or an artifact: refused. Only a
    terminal (a person at a runner's console) gets the key."""
    import pty

    gatewayctl("apply", "--confirm", check=True)
    argv = [sys.executable, "-m", "reconciler", "key", "show", "--me", "--reveal"]
    key = secret_key("bob")
    # GITHUB_ACTIONS alone is CI too: refused on a pipe (the file and terminal cases are the same code path
    # as under CI=true below, so they run once).
    env = {**os.environ, **employee_env(aws_env, "bob@example.com", "bob"), "CI": "", "GITHUB_ACTIONS": "true"}
    piped = subprocess.run(argv, cwd=workspace, env=env, capture_output=True, text=True, check=False)
    assert piped.returncode == 1 and key not in piped.stdout + piped.stderr and "not a terminal" in piped.stderr
    env = {**os.environ, **employee_env(aws_env, "bob@example.com", "bob"), "GITHUB_ACTIONS": "", "CI": "true"}
    log = tmp_path / "ci.log"
    with open(log, "w") as fh:
        proc = subprocess.run(argv, cwd=workspace, env=env, stdout=fh, stderr=subprocess.PIPE, text=True,
                              check=False)
    assert proc.returncode == 1 and "not printing the key" in proc.stderr, proc.stderr
    assert key not in log.read_text()
    piped = subprocess.run(argv, cwd=workspace, env=env, capture_output=True, text=True, check=False)
    assert piped.returncode == 1 and key not in piped.stdout + piped.stderr  # `| tee`, "$(...)"
    assert "stdout is not a terminal" in piped.stderr
    main, tty = pty.openpty()
    try:
        proc = subprocess.run(argv, cwd=workspace, env=env, stdout=tty, stderr=subprocess.PIPE, check=False)
        os.close(tty)
        shown = b""
        while chunk := _read(main):
            shown += chunk
    finally:
        os.close(main)
    assert proc.returncode == 0 and shown.decode().strip() == key, proc.stderr
    # Outside CI a pipe is how a person keeps the key out of their terminal's scrollback.
    env = {**os.environ, **employee_env(aws_env, "bob@example.com", "bob"), "CI": "", "GITHUB_ACTIONS": ""}
    piped = subprocess.run(argv, cwd=workspace, env=env, capture_output=True, text=True, check=False)
    assert piped.returncode == 0 and piped.stdout.strip() == key


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO: the terminal's other end is closed and everything was read
        return b""


def test_unknown_identity_is_a_clear_error(gatewayctl, aws_env):
    gatewayctl("apply", "--confirm", check=True)
    env = employee_env(aws_env, "mallory@example.com", "mallory")
    proc = gatewayctl("key", "show", "--me", "--reveal", env=env)
    assert proc.returncode == 1 and "no users/*.yaml has the id or email 'mallory@example.com'" in proc.stderr
    assert proc.stdout == ""


def test_secrets_written_before_the_owner_tag_get_it_on_the_next_apply(gatewayctl):
    gatewayctl("apply", "--confirm", check=True)
    sm = secrets_client()
    sm.untag_resource(SecretId=DEFAULT_PREFIX + "carol", TagKeys=[OWNER_TAG])
    plan = gatewayctl("plan", check=True)
    assert f"1 key secret(s) lack the {OWNER_TAG} tag" in plan.stdout
    out = gatewayctl("apply", "--confirm", check=True)
    assert "tagged 1 key secret(s) with their owner" in out.stderr
    tags = {t["Key"]: t["Value"] for t in sm.describe_secret(SecretId=DEFAULT_PREFIX + "carol")["Tags"]}
    assert tags[OWNER_TAG] == "carol"
    assert "lack the" not in gatewayctl("plan", check=True).stdout


def test_service_account_secrets_are_never_employee_readable(gatewayctl):
    """The plan-viewer's secret lives outside the per-user prefix the employee policy covers, and
    carries no owner tag either, also after it is rotated (UpdateSecret path)."""
    sm = secrets_client()
    gatewayctl("apply", "--confirm", "--plan-viewer", check=True)
    gatewayctl("apply", "--confirm", "--plan-viewer", "--rotate", "gatewayctl-plan-viewer", check=True)
    tags = {t["Key"] for t in sm.describe_secret(SecretId=DEFAULT_SERVICE_PREFIX + "gatewayctl-plan-viewer")["Tags"]}
    assert OWNER_TAG not in tags and HASH_TAG in tags
    names = [s["Name"] for page in sm.get_paginator("list_secrets").paginate(
        Filters=[{"Key": "tag-key", "Values": [OWNER_TAG]}]) for s in page["SecretList"]]
    assert names and all(n.startswith(DEFAULT_PREFIX) and "gatewayctl-" not in n for n in names)
