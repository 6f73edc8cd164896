"""gatewayctl plan/apply against the genuine LiteLLM proxy, with moto as Secrets Manager."""

from __future__ import annotations

import json

import pytest
from helpers import managed_keys, reset_gateway, reset_secrets, secret_key, secrets_client, write_user

from reconciler.live.keystore import HASH_TAG, key_hash

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def clean(admin, aws_env):
    reset_gateway(admin)
    reset_secrets()


def tags_of(user_id: str) -> dict:
    desc = secrets_client().describe_secret(SecretId=f"llm-gateway/users/{user_id}")
    return {t["Key"]: t["Value"] for t in desc["Tags"]}


def audit_lines(workspace):
    return [json.loads(line) for line in (workspace / "gatewayctl-audit.jsonl").read_text().splitlines()]


def test_create_then_second_apply_makes_zero_writes(gatewayctl, workspace, admin):
    plan = gatewayctl("plan", "--detailed-exitcode", "--out", "plan.json")
    assert plan.returncode == 2, plan.stderr
    assert "+ create user:alice" in plan.stdout and "+ create-tier tier:drafting" in plan.stdout
    applied = gatewayctl("apply", "--confirm", check=True)
    assert "[6/6]" in applied.stderr
    for uid, team in (("alice", "tier-drafting"), ("bob", "tier-coding"), ("carol", "tier-architect")):
        keys = managed_keys(admin, uid)
        assert len(keys) == 1 and keys[0]["key_alias"] == f"u-{uid}" and keys[0]["team_id"] == team
        assert keys[0]["models"] == ["all-team-models"]
        raw = secret_key(uid)
        assert key_hash(raw) == keys[0]["token"] == tags_of(uid)[HASH_TAG]
        # the raw key never reaches output, plan files or the audit log
        for text in (plan.stdout, plan.stderr, applied.stdout, applied.stderr,
                     (workspace / "plan.json").read_text(), (workspace / "gatewayctl-audit.jsonl").read_text()):
            assert raw not in text
    user = admin.get("/user/info", params={"user_id": "alice"}).json()["user_info"]
    assert user["models"] == ["no-default-models"] and user["metadata"]["managed_by"] == "llm-gateway-gitops"

    again = gatewayctl("apply", "--confirm", check=True)
    assert "Plan: no changes" in again.stdout
    records = audit_lines(workspace)
    assert records[-1]["gateway_writes"] == 0 and records[-1]["actions"] == []
    first = records[0]
    assert first["status"] == "ok" and first["git_commit"] == "0" * 40 and first["plan_digest"].startswith("sha256:")
    created = [h for a in first["actions"] for h in a["key_hashes_created"]]
    assert len(created) == 3 and all(len(h) == 64 for h in created)
    assert gatewayctl("plan", "--detailed-exitcode").returncode == 0


def test_plan_formats(gatewayctl, workspace):
    js = json.loads(gatewayctl("plan", "--format", "json", check=True).stdout)
    assert js["format_version"] == 2 and js["git_commit"] == "0" * 40
    assert js["desired_digest"].startswith("sha256:") and js["live_digest"].startswith("sha256:")
    assert js["summary"] == {"create": 3, "create-tier": 3}
    md = gatewayctl("plan", "--format", "markdown", check=True).stdout
    assert md.startswith("<!-- gatewayctl-plan -->") and "| + | create | user\\:alice |" in md


def test_tier_change_moves_team_and_keeps_the_key(gatewayctl, workspace, admin):
    gatewayctl("apply", "--confirm", check=True)
    before = managed_keys(admin, "alice")[0]
    path = workspace / "users" / "alice.yaml"
    path.write_text(path.read_text().replace("tier: drafting", "tier: coding"))
    plan = gatewayctl("plan", "--format", "json", check=True)
    action = next(a for a in json.loads(plan.stdout)["actions"] if a["target"] == "user:alice")
    assert action["kind"] == "move" and action["changes"][0] == ["tier", "drafting", "coding"]
    # Defined order: join the new team, move the key, then leave the old team (which deletes team keys).
    ops = [s["op"] for s in action["steps"]]
    assert ops.index("member_add") < ops.index("key_update") < ops.index("member_delete")
    gatewayctl("apply", "--confirm", check=True)
    after = managed_keys(admin, "alice")
    assert [k["token"] for k in after] == [before["token"]] and after[0]["team_id"] == "tier-coding"
    user = admin.get("/user/info", params={"user_id": "alice"}).json()["user_info"]
    assert user["teams"] == ["tier-coding"]
    assert gatewayctl("plan", "--detailed-exitcode").returncode == 0


def test_rotation_issues_new_key_and_revokes_old(gatewayctl, workspace, admin, gateway):
    gatewayctl("apply", "--confirm", check=True)
    old_raw = secret_key("carol")
    out = gatewayctl("apply", "--confirm", "--rotate", "carol", check=True)
    assert "rotate user:carol" in out.stderr
    new_raw = secret_key("carol")
    keys = managed_keys(admin, "carol")
    assert new_raw != old_raw and [k["token"] for k in keys] == [key_hash(new_raw)]
    assert keys[0]["key_alias"] == "u-carol" and tags_of("carol")[HASH_TAG] == key_hash(new_raw)


def test_missing_secret_is_repaired_with_a_new_key(gatewayctl, workspace, admin):
    gatewayctl("apply", "--confirm", check=True)
    name = "llm-gateway/users/alice"  # pragma: allowlist secret
    secrets_client().delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    plan = gatewayctl("plan", check=True)
    assert "rotate user:alice" in plan.stdout and "key secret missing" in plan.stdout
    gatewayctl("apply", "--confirm", check=True)
    assert key_hash(secret_key("alice")) == managed_keys(admin, "alice")[0]["token"]


def test_saved_plan_is_refused_when_live_state_changed(gatewayctl, workspace, admin):
    gatewayctl("plan", "--out", "plan.json", check=True)
    admin.post("/team/new", json={"team_id": "someone-elses-team"}).raise_for_status()
    stale = gatewayctl("apply", "plan.json", "--confirm")
    assert stale.returncode == 1 and "live state changed since the plan was made" in stale.stderr
    assert managed_keys(admin) == []
    gatewayctl("plan", "--out", "plan.json", check=True)
    gatewayctl("apply", "plan.json", "--confirm", check=True)
    assert len(managed_keys(admin)) == 3


def test_dry_run_without_confirm_changes_nothing(gatewayctl, admin):
    out = gatewayctl("apply", check=True)
    assert "dry run" in out.stderr and managed_keys(admin) == []


def test_mass_revocation_is_refused(gatewayctl, workspace, admin):
    for i in range(12):
        write_user(workspace, f"mass{i:02d}")
    gatewayctl("apply", "--confirm", check=True)
    for p in (workspace / "users").glob("mass*.yaml"):
        p.unlink()
    refused = gatewayctl("apply", "--confirm")
    assert refused.returncode == 3 and "refusing to revoke 12 of 15 managed keys" in refused.stdout
    assert len(managed_keys(admin)) == 15
    assert gatewayctl("plan").returncode == 3
    # 12 of 15 is also over the limit on all destructive changes together, which has its own flag.
    total = gatewayctl("apply", "--confirm", "--allow-mass-revocation")
    assert total.returncode == 3 and "refusing 12 destructive changes" in total.stdout
    assert "--allow-mass-change" in total.stdout and "--allow-mass-revocation" not in total.stdout
    gatewayctl("apply", "--confirm", "--allow-mass-revocation", "--allow-mass-change", check=True)
    assert len(managed_keys(admin)) == 3


def test_unmanaged_objects_are_reported_and_never_touched(gatewayctl, workspace, admin):
    hand = admin.post("/key/generate", json={"key_alias": "hand-made", "models": ["model-cheap"]}).json()
    admin.post("/user/new", json={"user_id": "alice", "user_email": "alice@example.com",
                                  "auto_create_key": False}).raise_for_status()
    plan = gatewayctl("plan", check=True)
    assert "! report user:alice (exists in LiteLLM but is not managed by gatewayctl" in plan.stdout
    assert "x prune key:hand-made (key without a user not issued by gatewayctl)" in plan.stdout
    gatewayctl("apply", "--confirm", check=True)
    assert admin.get("/key/info", params={"key": hand["token_id"]}).json()["info"]["key_alias"] == "hand-made"
    assert managed_keys(admin, "alice") == []
    assert admin.get("/user/info", params={"user_id": "alice"}).json()["user_info"]["metadata"] == {}


def test_import_writes_yaml_without_secrets(gatewayctl, workspace, admin):
    admin.post("/team/new", json={"team_id": "tier-coding"}).raise_for_status()
    admin.post("/user/new", json={"user_id": "zoe", "user_email": "zoe@example.com", "user_alias": "Zoe",
                                  "auto_create_key": False, "teams": ["tier-coding"]}).raise_for_status()
    raw = admin.post("/key/generate", json={"user_id": "zoe"}).json()["key"]
    out = gatewayctl("import", check=True)
    assert "wrote users/zoe.yaml" in out.stdout
    text = (workspace / "users" / "zoe.yaml").read_text()
    assert "tier: coding" in text and "email: zoe@example.com" in text and raw not in text and "sk-" not in text
    assert gatewayctl("validate").returncode == 0


def test_expiry_is_enforced_by_litellm_too(gatewayctl, workspace, admin, day):
    expires = day(200)
    write_user(workspace, "tina", extra=f"expires: {expires}\n")
    gatewayctl("apply", "--confirm", "--today", day(0), check=True)
    key = managed_keys(admin, "tina")[0]
    assert key["expires"].startswith(f"{expires}T18:2") or key["expires"].startswith(f"{expires}T18:30")
    path = workspace / "users" / "tina.yaml"
    path.write_text(path.read_text().replace(f"expires: {expires}\n", ""))
    plan = gatewayctl("plan", "--today", day(0), check=True)
    assert f"key.expires_at: {expires}T18:" in plan.stdout and "-> (none)" in plan.stdout
    gatewayctl("apply", "--confirm", "--today", day(0), check=True)
    assert managed_keys(admin, "tina")[0]["expires"] is None
    assert gatewayctl("plan", "--detailed-exitcode").returncode == 0


def test_plan_viewer_key_is_read_only_and_enough_for_plans(gatewayctl, workspace, admin):
    gatewayctl("apply", "--confirm", "--plan-viewer", check=True)
    viewer = secret_key("gatewayctl-plan-viewer", prefix="llm-gateway/service/")  # pragma: allowlist secret
    info = admin.get("/user/info", params={"user_id": "gatewayctl-plan-viewer"}).json()["user_info"]
    assert info["user_role"] == "proxy_admin_viewer"
    as_viewer = {"LITELLM_MASTER_KEY": viewer}
    assert gatewayctl("plan", "--detailed-exitcode", env=as_viewer).returncode == 0  # without the flag: ignored
    assert gatewayctl("plan", "--plan-viewer", "--detailed-exitcode", env=as_viewer).returncode == 0
    write_user(workspace, "uma")
    denied = gatewayctl("apply", "--confirm", env=as_viewer)
    assert denied.returncode == 1 and "403" in denied.stderr
    assert managed_keys(admin, "uma") == []


def test_adopt_takes_over_an_imported_user(gatewayctl, workspace, admin):
    admin.post("/user/new", json={"user_id": "alice", "user_email": "alice@example.com",
                                  "auto_create_key": False}).raise_for_status()
    assert "not managed by gatewayctl" in gatewayctl("plan", check=True).stdout
    assert "& adopt user:alice" in gatewayctl("plan", "--adopt", check=True).stdout
    out = gatewayctl("apply", "--confirm", "--adopt", check=True)
    assert "adopt user:alice" in out.stderr
    user = admin.get("/user/info", params={"user_id": "alice"}).json()["user_info"]
    assert user["metadata"]["managed_by"] == "llm-gateway-gitops" and user["models"] == ["no-default-models"]
    assert len(managed_keys(admin, "alice")) == 1
    assert gatewayctl("plan", "--detailed-exitcode").returncode == 0


def test_killed_apply_leaves_a_journal_that_the_next_audit_keeps(gatewayctl, workspace, gateway, aws_env):
    import os
    import signal
    import subprocess
    import sys
    import time

    for i in range(20):
        write_user(workspace, f"jr{i:02d}")
    env = {**os.environ, **aws_env, "LITELLM_BASE_URL": gateway.base_url, "LITELLM_MASTER_KEY": gateway.master_key}
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", "--confirm", "--concurrency", "1"],
                            cwd=workspace, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = workspace / ".gatewayctl" / "apply-journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not journal.exists() or len(journal.read_text().splitlines()) < 6):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(journal.read_text().splitlines()) - 1
    assert done >= 5 and not (workspace / "gatewayctl-audit.jsonl").exists()
    out = gatewayctl("apply", "--confirm", check=True)
    assert "previous apply was interrupted" in out.stderr
    record = audit_lines(workspace)[-1]
    assert record["interrupted_run"][0]["started"] and len(record["interrupted_run"]) - 1 >= done
    assert not journal.exists()
    assert gatewayctl("plan", "--detailed-exitcode").returncode == 0


def test_a_user_whose_id_is_part_of_anothers_joins_its_tier(gatewayctl, workspace, admin):
    # LiteLLM reads a lone id in /user/list?user_ids= as a substring, newest first: the read-back of
    # a one-user membership batch for `al` listed `alan` (created later) and called al's move failed.
    write_user(workspace, "al")
    gatewayctl("apply", "--confirm", check=True)
    write_user(workspace, "alan")
    gatewayctl("apply", "--confirm", check=True)
    write_user(workspace, "al", tier="coding")
    applied = gatewayctl("apply", "--confirm")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert admin.get("/user/info", params={"user_id": "al"}).json()["user_info"]["teams"] == ["tier-coding"]
    assert gatewayctl("plan", "--detailed-exitcode").returncode == 0
