"""Scheduled rotation on the genuine LiteLLM proxy, with moto as Secrets Manager and a moved clock.

`--today` moves gatewayctl's clock; LiteLLM keeps the real one. Forward, a key becomes due and
its overlap window lies in LiteLLM's future: both keys answer inside it and the run after it
deletes the old key. Backward (keys issued 100 days ago, rotated "8 days ago" with a 7-day
window), the window has already ended in real time: LiteLLM's own `expires` refuses the old key
although no run followed the rotation."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from faultproxy import FaultProxy
from helpers import chat, clean_slate, create_state_table, managed_keys, secret_key, secrets_client, write_user
from test_faults import OVERRIDES, crash_consistent

from reconciler.apply.deploystate import StateTable
from reconciler.live.keystore import DEFAULT_PREFIX, HASH_TAG, NO_RETIRING, RETIRING_TAG, key_hash
from reconciler.plan import rotation

pytestmark = pytest.mark.integration

@pytest.fixture(autouse=True)
def clean(admin, aws_env, workspace):
    clean_slate(admin, workspace)


def previous_key(user_id: str) -> str:
    value = secrets_client().get_secret_value(SecretId=DEFAULT_PREFIX + user_id, VersionStage="AWSPREVIOUS")
    return json.loads(value["SecretString"])["api_key"]


def stored_history(user_id: str) -> set[str]:
    """Hashes of every key value any version of the user's secret holds."""
    sm = secrets_client()
    name = DEFAULT_PREFIX + user_id
    out = set()
    for v in sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]:
        value = sm.get_secret_value(SecretId=name, VersionId=v["VersionId"])["SecretString"]
        out.add(key_hash(json.loads(value)["api_key"]))
    return out


def last_audit(workspace) -> dict:
    return json.loads((workspace / "gatewayctl-audit.jsonl").read_text().splitlines()[-1])


def wait_status(base_url: str, key: str, want: int, seconds: float = 70) -> int:
    deadline = time.monotonic() + seconds
    while True:
        status = chat(base_url, key, "model-cheap").status_code
        if status == want or time.monotonic() > deadline:
            return status
        time.sleep(1)


def test_due_key_rotates_with_overlap_then_the_old_key_is_refused(day, gatewayctl, workspace, gateway, admin):
    write_user(workspace, "rita", "drafting")
    gatewayctl("apply", "--confirm", "--today", day(0), check=True)
    old = secret_key("rita")
    assert gatewayctl("plan", "--detailed-exitcode", "--today", day(89)).returncode == 0  # 89 days: not due

    due = day(90)
    plan = gatewayctl("plan", "--today", due, check=True)
    assert "@ rotate user:rita" in plan.stdout and "key is 90 days old, tier maximum 90" in plan.stdout, plan.stdout
    until = day(97)
    assert f"the old key works until {until}" in plan.stdout

    gatewayctl("rotate", "--confirm", "--today", due, check=True)
    new = secret_key("rita")
    assert new != old and previous_key("rita") == old  # AWSPREVIOUS keeps the old value
    keys = {k["key_alias"]: k for k in managed_keys(admin, "rita")}
    assert set(keys) == {"u-rita", "u-rita~retiring"}
    assert keys["u-rita"]["token"] == key_hash(new) and keys["u-rita~retiring"]["token"] == key_hash(old)
    retiring = keys["u-rita~retiring"]
    assert retiring["metadata"][rotation.RETIRE_AFTER] == until
    assert retiring["expires"].startswith(f"{until}T18:30") or retiring["expires"].startswith(f"{until}T18:29")
    assert keys["u-rita"]["metadata"][rotation.ISSUED_ON] == due
    for raw in (old, new):  # inside the window both keys work
        assert chat(gateway.base_url, raw, "model-cheap").status_code == 200

    again = gatewayctl("rotate", "--confirm", "--today", due, check=True)  # a second run changes nothing
    assert "Plan: no changes" in again.stdout and last_audit(workspace)["gateway_writes"] == 0
    assert gatewayctl("plan", "--detailed-exitcode", "--today", until).returncode == 0  # last day of the window

    after = day(98)
    plan = gatewayctl("plan", "--today", after, check=True)
    assert "- retire user:rita" in plan.stdout and f"overlap window ended {until}" in plan.stdout
    gatewayctl("rotate", "--confirm", "--today", after, check=True)
    assert wait_status(gateway.base_url, old, 401) == 401
    assert chat(gateway.base_url, new, "model-cheap").status_code == 200
    assert [k["key_alias"] for k in managed_keys(admin, "rita")] == ["u-rita"]
    assert gatewayctl("plan", "--detailed-exitcode", "--today", after).returncode == 0


def test_litellm_itself_refuses_the_old_key_after_the_window(day, gatewayctl, workspace, gateway, admin):
    write_user(workspace, "reza", "drafting")
    gatewayctl("apply", "--confirm", "--today", day(-100), check=True)  # issued 100 days "ago"
    old = secret_key("reza")
    gatewayctl("rotate", "--confirm", "--today", day(-8), check=True)  # window ended yesterday, in real time
    new = secret_key("reza")
    assert chat(gateway.base_url, new, "model-cheap").status_code == 200
    r = chat(gateway.base_url, old, "model-cheap")
    deadline = time.monotonic() + 10
    while r.status_code != 401 and time.monotonic() < deadline:
        time.sleep(0.5)
        r = chat(gateway.base_url, old, "model-cheap")
    assert r.status_code == 401 and r.json()["error"]["type"] == "expired_key", r.text
    # No run deleted it: gatewayctl, on its clock, is still inside the window.
    assert len(managed_keys(admin, "reza")) == 2
    assert gatewayctl("plan", "--detailed-exitcode", "--today", day(-8)).returncode == 0


def test_rotate_leaves_everything_else_for_the_deploy_job(day, gatewayctl, workspace, admin):
    write_user(workspace, "rosa", "drafting")
    write_user(workspace, "rudy", "coding")
    gatewayctl("apply", "--confirm", "--today", day(0), check=True)
    write_user(workspace, "rosa", "coding")  # a tier move, and a new user
    write_user(workspace, "ruth", "drafting")
    out = gatewayctl("rotate", "--confirm", "--today", day(90), check=True)
    assert "2 other change(s) are left for the deploy job" in out.stderr
    assert managed_keys(admin, "ruth") == [] and managed_keys(admin, "rosa")[0]["team_id"] == "tier-drafting"
    assert {k["key_alias"] for k in managed_keys(admin, "rudy")} == {"u-rudy", "u-rudy~retiring"}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sigkill_mid_rotation_converges(day, seed, gatewayctl, workspace, gateway, admin, aws_env):
    """Kill -9 a nightly rotation of six users after a random LiteLLM write (12 in all: a rename
    and a /key/generate per user); the next run finishes it, and a run after that changes nothing."""
    rng = random.Random(seed)
    ids = [f"rk{seed}u{i}" for i in range(6)]
    for i, uid in enumerate(ids):
        write_user(workspace, uid, ("drafting", "coding", "architect")[i % 3])
    gatewayctl("apply", "--confirm", "--today", day(0), check=True)
    before = {uid: secret_key(uid) for uid in ids}
    env = {**os.environ, **aws_env, "LITELLM_BASE_URL": gateway.base_url, "LITELLM_MASTER_KEY": gateway.master_key,
           "GITHUB_SHA": "0" * 40}
    kill_at = rng.randint(1, 12)
    with FaultProxy(gateway.base_url, seed=seed, delay=(0.01, 0.1)) as fp:
        # Six due keys in one run: more than the safety limits let a gateway this small rotate at once
        # (the rest would wait for the next night), so they are lifted here, as in test_faults.
        proc = subprocess.Popen([sys.executable, "-m", "reconciler", "rotate", "--confirm", "--today", day(90),
                                 *OVERRIDES, "--base-url", fp.url], cwd=workspace, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if sum(1 for r in list(fp.records) if r.method == "POST") >= kill_at:
                time.sleep(rng.uniform(0, 0.1))
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        proc.wait(timeout=60)
        assert fp.drain(60)
    posts = sum(1 for r in fp.records if r.method == "POST")
    print(f"seed {seed}: kill after write {kill_at}: exit {proc.returncode}, {posts} writes reached LiteLLM")
    assert proc.returncode == -signal.SIGKILL or posts == 12
    assert crash_consistent(admin) == []

    gatewayctl("rotate", "--confirm", "--today", day(90), *OVERRIDES, check=True)
    again = gatewayctl("rotate", "--confirm", "--today", day(90), *OVERRIDES, check=True)
    assert last_audit(workspace)["gateway_writes"] == 0, again.stdout
    plan = gatewayctl("plan", "--detailed-exitcode", "--today", day(90))
    assert plan.returncode == 0, plan.stdout
    for uid in ids:
        keys = {k["key_alias"]: k for k in managed_keys(admin, uid)}
        current = secret_key(uid)
        assert current != before[uid], f"{uid} was not rotated"
        assert keys[f"u-{uid}"]["token"] == key_hash(current)
        tags = {t["Key"]: t["Value"] for t in secrets_client().describe_secret(
            SecretId=DEFAULT_PREFIX + uid)["Tags"]}
        assert tags[HASH_TAG] == key_hash(current)
        assert set(keys) == {f"u-{uid}", f"u-{uid}~retiring"}, keys.keys()
        old = keys[f"u-{uid}~retiring"]
        # The old key is the one the user had, still works, and its value is still in the secret's history.
        assert old["token"] == key_hash(before[uid])
        assert old["token"] in stored_history(uid)
        assert chat(gateway.base_url, before[uid], "model-cheap" if uid.endswith(("0", "3")) else
                    ("model-balanced" if uid.endswith(("1", "4")) else "model-reasoning")).status_code == 200


def test_nightly_script_rotates_due_keys_with_the_master_key_from_secrets_manager(day, gatewayctl, workspace, gateway,
                                                                                  admin, aws_env, repo_root):
    """scripts/ci/rotate, as the nightly workflow runs it: master key read with the AWS role."""
    import shutil

    if not shutil.which("aws"):
        pytest.skip("scripts/ci/rotate reads the master key with the aws CLI, which is not on PATH")
    write_user(workspace, "rolf", "coding")
    gatewayctl("apply", "--confirm", "--today", day(0), check=True)
    before = secret_key("rolf")
    secrets_client().create_secret(Name="llm-gateway/litellm-master-key", SecretString=gateway.master_key)
    (workspace / "scripts" / "ci").mkdir(parents=True)
    for script in ("rotate", "lib.sh"):
        shutil.copy(repo_root / "scripts" / "ci" / script, workspace / "scripts" / "ci" / script)
    env = {**os.environ, **aws_env, "LITELLM_BASE_URL": gateway.base_url, "GITHUB_ACTIONS": "true",
           "LITELLM_MASTER_KEY_SECRET_ID": "llm-gateway/litellm-master-key",
           "GITHUB_STEP_SUMMARY": str(workspace / "summary.md"),
           "GATEWAYCTL": str(repo_root / ".venv" / "bin" / "gatewayctl"),
           "GATEWAYCTL_STATE_TABLE": create_state_table(),
           "PATH": f"{repo_root / '.venv' / 'bin'}:{os.environ['PATH']}"}
    env.pop("LITELLM_MASTER_KEY", None)
    # A deploy holds the gateway lock: the rotation waits for it (here: refuses, with no wait).
    with StateTable(env["GATEWAYCTL_STATE_TABLE"]).lock("deploy run 7"):
        busy = subprocess.run(["bash", "scripts/ci/rotate", "--today", day(90)], cwd=workspace,
                              env={**env, "LOCK_WAIT": "0"}, capture_output=True, text=True, timeout=300, check=False)
    assert busy.returncode == 1 and "held by deploy run 7" in busy.stderr, busy.stdout + busy.stderr
    assert secret_key("rolf") == before
    proc = subprocess.run(["bash", "scripts/ci/rotate", "--today", day(90)], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert StateTable(env["GATEWAYCTL_STATE_TABLE"]).holder() == {}  # released
    assert f"::add-mask::{gateway.master_key}" in proc.stdout  # masked before anything could print it
    assert secret_key("rolf") != before
    assert {k["key_alias"] for k in managed_keys(admin, "rolf")} == {"u-rolf", "u-rolf~retiring"}
    assert "### Nightly key rotation" in (workspace / "summary.md").read_text()
    assert last_audit(workspace)["actions"][0]["kind"] == "rotate"


def test_requested_rotation_inside_the_overlap_window_ends_every_old_key_at_once(day, gatewayctl, workspace, gateway,
                                                                                 admin):
    """A leak found the day after a scheduled rotation: `apply --rotate` leaves the user one key, the
    new one. Both earlier keys (the retiring one too, which would otherwise work for 6 more days) get
    401 at once, and the key store no longer names a retiring key."""
    write_user(workspace, "rhea", "drafting")
    gatewayctl("apply", "--confirm", "--today", day(0), check=True)
    first = secret_key("rhea")
    gatewayctl("rotate", "--confirm", "--today", day(90), check=True)
    second = secret_key("rhea")
    assert chat(gateway.base_url, first, "model-cheap").status_code == 200  # inside its window

    plan = gatewayctl("plan", "--rotate", "rhea", "--today", day(91), check=True)
    assert "@ rotate user:rhea" in plan.stdout and "retiring key" in plan.stdout, plan.stdout
    gatewayctl("apply", "--rotate", "rhea", "--confirm", "--today", day(91), check=True)
    third = secret_key("rhea")
    assert third not in (first, second)
    assert wait_status(gateway.base_url, first, 401, seconds=15) == 401
    assert wait_status(gateway.base_url, second, 401, seconds=15) == 401
    assert chat(gateway.base_url, third, "model-cheap").status_code == 200
    assert [(k["key_alias"], k["token"]) for k in managed_keys(admin, "rhea")] == [("u-rhea", key_hash(third))]
    tags = {t["Key"]: t["Value"] for t in secrets_client().describe_secret(SecretId=DEFAULT_PREFIX + "rhea")["Tags"]}
    assert tags[RETIRING_TAG] == NO_RETIRING
    assert gatewayctl("plan", "--detailed-exitcode", "--today", day(91)).returncode == 0


def test_offboarding_inside_the_overlap_window_ends_both_keys(day, gatewayctl, workspace, gateway, admin):
    write_user(workspace, "rudi", "drafting")
    gatewayctl("apply", "--confirm", "--today", day(0), check=True)
    first = secret_key("rudi")
    gatewayctl("rotate", "--confirm", "--today", day(90), check=True)
    second = secret_key("rudi")
    (workspace / "users" / "rudi.yaml").unlink()
    gatewayctl("apply", "--confirm", "--today", day(91), check=True)
    for raw in (first, second):
        assert wait_status(gateway.base_url, raw, 401, seconds=15) == 401
    assert managed_keys(admin, "rudi") == []
