"""`gatewayctl plan/apply --changed-since REF` on the genuine LiteLLM proxy (moto as Secrets Manager):
the scoped plan reads only the users a commit touched and plans exactly what the full plan plans for them."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from faultproxy import FaultProxy
from helpers import generate_users, managed_keys, reset_gateway, reset_secrets, write_user

pytestmark = [pytest.mark.integration, pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")]
CALLS = re.compile(r"calls: (\d+) to LiteLLM \((\{.*\})\), (\d+) to the key store")


@pytest.fixture(autouse=True)
def clean(admin, aws_env):
    reset_gateway(admin)
    reset_secrets()


def git(workspace, *args: str) -> str:
    return subprocess.run(["git", "-C", str(workspace), *args], check=True, capture_output=True, text=True).stdout


def commit_all(workspace, message: str) -> str:
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", message)
    return git(workspace, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(workspace, repo_root):
    """The workspace as a git repository, with the project's .gitignore (gatewayctl's own files)."""
    shutil.copy(repo_root / ".gitignore", workspace / ".gitignore")
    git(workspace, "init", "-q", "-b", "main")
    git(workspace, "config", "user.name", "T")
    git(workspace, "config", "user.email", "t@example.com")
    git(workspace, "config", "commit.gpgsign", "false")
    return workspace


def plan(gatewayctl, *args: str) -> tuple[dict, int, dict, int, float]:
    """(plan JSON, LiteLLM calls, calls by path, key-store calls, seconds) of one `plan --show-calls`."""
    started = time.monotonic()
    proc = gatewayctl("plan", "--format", "json", "--show-calls", *args, check=True)
    seconds = time.monotonic() - started
    m = CALLS.search(proc.stderr)
    assert m, proc.stderr
    return json.loads(proc.stdout), int(m[1]), eval(m[2]), int(m[3]), seconds  # noqa: S307 (our own dict repr)


def test_scoped_plan_equals_the_full_plan_and_converges(gatewayctl, repo, admin):
    ids = generate_users(repo, 40, prefix="s")
    gatewayctl("apply", "--confirm", check=True)
    base = commit_all(repo, "40 users")
    # The commit: add 2, move 1 to another tier, delete 1.
    added = ["s90000", "s90001"]
    for uid in added:
        write_user(repo, uid, "coding")
    moved, removed = ids[0], ids[1]  # s00000 drafting -> architect; s00001 (coding) leaves
    write_user(repo, moved, "architect")
    (repo / "users" / f"{removed}.yaml").unlink()
    commit_all(repo, "add 2, move 1, remove 1")

    full, full_calls, _, full_store, full_s = plan(gatewayctl)
    scoped, calls, by_path, store_calls, scoped_s = plan(gatewayctl, "--changed-since", base)
    print(f"full: {full_calls} LiteLLM + {full_store} key-store calls, {full_s:.2f} s; "
          f"scoped: {calls} + {store_calls}, {scoped_s:.2f} s ({by_path})")

    assert full["scope"] is None
    assert scoped["scope"]["users"] == sorted([*added, moved, removed])
    assert scoped["scope"]["commit"] == base and scoped["inputs"]["changed_since"] == base
    assert scoped["scope"]["note"].startswith(f"scoped to 4 user(s) changed since {base[:12]}")
    # The strongest check: the same actions, step by step, as the plan that read everything.
    assert [a["target"] for a in scoped["actions"]] == [
        "user:s90000", "user:s90001", f"user:{moved}", f"user:{removed}"]
    assert scoped["actions"] == full["actions"]
    assert scoped["counts"] == full["counts"] and scoped["out_of_band"] == full["out_of_band"] == []
    # The safety limits keep their population: everyone outside the scope counts as one managed key.
    assert scoped["managed_key_count"] == full["managed_key_count"] == 40
    # What it read: two existing users (the moved and the removed one), so their keys one by one and
    # their two tier teams; one /user/list call for the four ids; one ListSecrets for the two secrets.
    assert by_path["/user/list"] == 1 and by_path["/key/list"] == 2 and by_path["/team/info"] == 2
    assert store_calls == 1

    applied = gatewayctl("apply", "--confirm", "--changed-since", base, check=True)
    assert "scoped to 4 user(s)" in applied.stderr
    assert gatewayctl("plan", "--detailed-exitcode").returncode == 0  # the full plan: nothing left
    assert managed_keys(admin, removed) == [] and len(managed_keys(admin, "s90001")) == 1
    assert managed_keys(admin, moved)[0]["team_id"] == "tier-architect"


def test_a_commit_that_only_adds_users_reads_no_existing_user(gatewayctl, repo, admin):
    generate_users(repo, 30, prefix="a")
    gatewayctl("apply", "--confirm", check=True)
    base = commit_all(repo, "30 users")
    for i in range(3):
        write_user(repo, f"new{i}", "drafting")
    commit_all(repo, "add 3")
    scoped, calls, by_path, store_calls, _ = plan(gatewayctl, "--changed-since", base)
    # /budget/list, /v2/team/list and one /user/list for the three ids: nothing else exists to read.
    assert by_path == {"/budget/list": 1, "/v2/team/list": 1, "/user/list": 1} and calls == 3
    assert store_calls == 0
    assert scoped["summary"] == {"create": 3} and scoped["managed_key_count"] == 30


def test_a_policies_change_plans_in_full_and_says_so(gatewayctl, repo):
    generate_users(repo, 3, prefix="p")
    base = commit_all(repo, "3 users")
    tiers = repo / "policies" / "tiers.yaml"
    tiers.write_text(tiers.read_text() + "\n")
    commit_all(repo, "touch tiers")
    out = gatewayctl("plan", "--changed-since", base, check=True)
    line = f"full plan (--changed-since {base}): policies/tiers.yaml changed since {base[:12]} (not only users/)"
    assert f"Read: {line}" in out.stdout and line in out.stderr
    assert "+ create user:p00000" in out.stdout and "+ create-tier tier:drafting" in out.stdout
    unknown = gatewayctl("plan", "--changed-since", "deadbeef" * 5, check=True)
    assert "is not a commit in this repository" in unknown.stdout


def test_a_saved_scoped_plan_applies_only_with_the_same_ref(gatewayctl, repo):
    generate_users(repo, 4, prefix="f")
    base = commit_all(repo, "4 users")
    write_user(repo, "f90000", "coding")
    commit_all(repo, "add 1")
    gatewayctl("plan", "--changed-since", base, "--out", "plan.json", check=True)
    saved = json.loads((repo / "plan.json").read_text())
    assert saved["scope"]["users"] == ["f90000"] and saved["inputs"]["changed_since"] == base
    refused = gatewayctl("apply", "plan.json", "--confirm")
    assert refused.returncode == 1 and "changed_since" in refused.stderr
    gatewayctl("apply", "plan.json", "--confirm", "--changed-since", base, check=True)


@pytest.mark.slow
def test_an_interrupted_scoped_apply_rerun_with_the_same_ref_converges(gatewayctl, repo, gateway, admin, aws_env):
    ids = generate_users(repo, 12, prefix="k")
    gatewayctl("apply", "--confirm", check=True)
    base = commit_all(repo, "12 users")
    for i in range(6):
        write_user(repo, f"k9{i:04d}", ("drafting", "coding")[i % 2])
    write_user(repo, ids[0], "coding")
    (repo / "users" / f"{ids[1]}.yaml").unlink()
    commit_all(repo, "add 6, move 1, remove 1")

    with FaultProxy(gateway.base_url, seed=7, delay=(0.01, 0.05)) as fp:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "apply", "--confirm", "--changed-since", base, "--base-url", fp.url],
            cwd=repo, env=_env(gateway, aws_env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if sum(1 for r in list(fp.records) if r.method == "POST") >= 5:  # mid-way: users made, keys not all
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        proc.communicate(timeout=60)
        assert fp.drain(60)
    assert proc.returncode == -signal.SIGKILL
    assert (repo / ".gatewayctl" / "apply-journal.jsonl").exists()

    again = gatewayctl("apply", "--confirm", "--changed-since", base, check=True)
    assert "interrupted" in again.stderr and "scoped to 8 user(s)" in again.stderr
    assert gatewayctl("plan", "--detailed-exitcode").returncode == 0  # the full plan agrees: converged
    for i in range(6):
        assert len(managed_keys(admin, f"k9{i:04d}")) == 1
    assert managed_keys(admin, ids[1]) == []


def _env(gateway, aws_env) -> dict:
    return {**os.environ, **aws_env, "LITELLM_BASE_URL": gateway.base_url,
            "LITELLM_MASTER_KEY": gateway.master_key, "GITHUB_SHA": "0" * 40}


def test_a_one_user_scoped_deploy_with_notices_reads_the_gateway_once(gatewayctl, repo):
    """The deploy's one step (apply --changed-since with notices on, as scripts/ci/reconcile runs it) reads
    the gateway once, for the plan: the apply's membership write proves itself by its answer, and the
    notices work from what the plan read and what the apply did, never reading the gateway again."""
    from helpers import SmtpSink, free_port

    generate_users(repo, 30, prefix="o")
    gatewayctl("apply", "--confirm", check=True)
    base = commit_all(repo, "30 users")
    write_user(repo, "onboarded", "drafting")
    commit_all(repo, "add one")
    port = free_port()
    env = {"GATEWAYCTL_NOTIFY": "smtp", "GATEWAYCTL_NOTIFY_FROM": "llm-gateway@example.com",
           "GATEWAYCTL_SMTP_HOST": "127.0.0.1", "GATEWAYCTL_SMTP_PORT": str(port)}
    with SmtpSink(port) as sink:
        proc = gatewayctl("apply", "--confirm", "--changed-since", base, "--show-calls", "--out", "plan.json",
                          "--report", "plan.md", env=env, check=True)
    assert [m["To"] for _, m in sink.mails] == ["onboarded@example.com"]
    m = CALLS.search(proc.stderr)
    assert m, proc.stderr
    by_path, store_calls = eval(m[2]), int(m[3])  # noqa: S307 (our own dict repr)
    reads = {path: n for path, n in by_path.items() if path.endswith("/list") or path.endswith("/info")}
    # The plan: budgets, teams and the one user (it has no row yet, so no keys or memberships to read).
    # Nothing after it: /team/member_add answers with the user row it wrote (reconciler/apply/membership_batch.py),
    # and the notices take the new key from the apply's results (reconciler/notifications/notices.py, state_after).
    assert reads == {"/budget/list": 1, "/v2/team/list": 1, "/user/list": 1}, by_path
    # One key-secret listing for the plan, one for the notices (it also holds the ledger), and the
    # writes of the one new secret: nothing scales with the 30 users outside the change.
    assert store_calls < 12, proc.stderr
    saved = json.loads((repo / "plan.json").read_text())
    assert saved["summary"] == {"create": 1} and "onboarded" in (repo / "plan.md").read_text()
