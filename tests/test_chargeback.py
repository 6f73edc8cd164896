"""gatewayctl report on the genuine LiteLLM proxy: a month built from real calls and real git history.

Two cost centers; one user moves cost center mid-month (a commit between two calls); one key is
rotated and one user is revoked after spending. Costs come from the fake Bedrock's per-request
usage at LiteLLM's own prices (Haiku 4.5 $1 and Sonnet 4.5 $3 per million input tokens)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from helpers import chat, reset_gateway, run_gatewayctl_in_process, secret_key, write_user

from reconciler.desired.policy import BUDGET_TZ
from reconciler.finops.chargeback import month_range
from reconciler.live.keystore import DEFAULT_SERVICE_PREFIX

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.integration

TEN_CENTS_HAIKU = "bill [[usage in=100000 out=0]]"  # $0.10 on model-cheap
THIRTY_CENTS_SONNET = "bill [[usage in=100000 out=0]]"  # $0.30 on model-balanced


def git(ws, *args, date: dt.datetime | None = None):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    if date is not None:
        env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"] = date.isoformat()
    subprocess.run(["git", "-C", str(ws), *args], check=True, capture_output=True, env=env)


def commit(ws, message, date=None):
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", message, date=date)


def set_cost_center(ws, uid, cc):
    path = ws / "users" / f"{uid}.yaml"
    path.write_text(path.read_text().replace("cost_center: CC-2001", f"cost_center: {cc}")
                    .replace("cost_center: CC-A", f"cost_center: {cc}"))


def paid(base_url, uid, model, text):
    r = chat(base_url, secret_key(uid), model, text)
    assert r.status_code == 200, r.text


def wait_for_spend_rows(admin, start, users: set[str], count: int, seconds=120):
    deadline = time.monotonic() + seconds
    while True:
        body = admin.get("/spend/logs/v2", params={"start_date": start.strftime("%Y-%m-%d %H:%M:%S"),
                                                    "end_date": "2100-01-01 00:00:00", "page_size": 1000}).json()
        got = [r for r in body["data"] if r.get("user") in users]
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(2)


@pytest.fixture
def month_now():
    """The current month in Asia/Kolkata, away from its last minutes so the calls stay inside it."""
    now = dt.datetime.now(BUDGET_TZ)
    if (now + dt.timedelta(minutes=5)).month != now.month:
        time.sleep((60 - now.minute) * 60 + 5)
        now = dt.datetime.now(BUDGET_TZ)
    return now.strftime("%Y-%m")


def test_month_reconciles_to_the_cent_with_a_move_a_rotation_and_a_revocation(
        gatewayctl, workspace, gateway, admin, aws_env, month_now, moto_server):
    reset_gateway(admin)
    for p in (workspace / "users").glob("*.yaml"):
        p.unlink()
    for uid, tier in (("cb-ann", "drafting"), ("cb-ben", "coding"), ("cb-cat", "drafting"), ("cb-dan", "drafting")):
        write_user(workspace, uid, tier)
    for uid in ("cb-ann", "cb-ben", "cb-dan"):
        set_cost_center(workspace, uid, "CC-A")
    set_cost_center(workspace, "cb-cat", "CC-B")
    start, _ = month_range(month_now)
    git(workspace, "init", "-q", "-b", "main")
    commit(workspace, "grants (#1)", date=start - dt.timedelta(days=3))  # in force since before the month
    gatewayctl("apply", "--confirm", check=True)

    paid(gateway.base_url, "cb-ann", "model-cheap", TEN_CENTS_HAIKU)
    paid(gateway.base_url, "cb-ann", "model-cheap", TEN_CENTS_HAIKU)
    paid(gateway.base_url, "cb-ben", "model-balanced", THIRTY_CENTS_SONNET)  # CC-A: before the move
    paid(gateway.base_url, "cb-cat", "model-cheap", TEN_CENTS_HAIKU)
    paid(gateway.base_url, "cb-dan", "model-cheap", TEN_CENTS_HAIKU)
    time.sleep(1.2)  # commit dates have whole seconds
    set_cost_center(workspace, "cb-ben", "CC-B")
    commit(workspace, "cb-ben moves to CC-B (#2)", date=dt.datetime.now(dt.UTC))
    time.sleep(1.2)
    gatewayctl("apply", "--confirm", check=True)
    paid(gateway.base_url, "cb-ben", "model-balanced", THIRTY_CENTS_SONNET)  # CC-B: after the move

    old_cat = secret_key("cb-cat")
    gatewayctl("apply", "--confirm", "--rotate", "cb-cat", check=True)
    assert secret_key("cb-cat") != old_cat
    paid(gateway.base_url, "cb-cat", "model-cheap", TEN_CENTS_HAIKU)  # the new key

    (workspace / "users" / "cb-dan.yaml").unlink()
    commit(workspace, "offboard cb-dan (#3)")
    gatewayctl("apply", "--confirm", check=True)  # cb-dan's key is deleted; its spend stays in the logs

    ours = {"cb-ann", "cb-ben", "cb-cat", "cb-dan"}
    rows = wait_for_spend_rows(admin, start, ours, 7)
    assert len(rows) == 7, rows
    assert len({r["api_key"] for r in rows if r["user"] == "cb-cat"}) == 2  # rotated: old and new key

    gatewayctl("apply", "--confirm", "--plan-viewer", "--spend-reader", check=True)
    # the plan-viewer key reads only what plan needs: no spend logs (tests/test_escalation.py)
    viewer = {"LITELLM_MASTER_KEY": secret_key("gatewayctl-plan-viewer", prefix=DEFAULT_SERVICE_PREFIX)}
    refused = gatewayctl("report", "--month", month_now, env=viewer)
    assert refused.returncode == 1 and "/spend/logs/v2" in refused.stderr
    out = gatewayctl("report", "--month", month_now, "--format", "json", check=True)
    report = json.loads(out.stdout)
    groups = {g["group"]: g for g in report["groups"]}
    assert groups["CC-A"]["spend_usd"] == "0.60" and groups["CC-A"]["users"] == 3  # ann 0.20, ben 0.30, dan 0.10
    assert groups["CC-B"]["spend_usd"] == "0.50" and groups["CC-B"]["users"] == 2  # ben 0.30, cat 0.10 + 0.10
    # every row of the month is in exactly one group (other tests' users land in "(not in git)")
    assert Decimal(report["groups_total_usd"]) == Decimal(report["gateway_total_usd"])
    assert report["difference_usd"] in ("0.00", "0")
    assert "spend rows read" in out.stderr and "done" in out.stderr  # the progress line

    by_user = {u["user_id"]: u for u in report["users"]}
    assert by_user["cb-ben"]["spend_usd"] == "0.60" and by_user["cb-ben"]["utilisation"] == 0.03  # of $20
    assert by_user["cb-ann"]["utilisation"] == 0.1 and by_user["cb-dan"]["spend_usd"] == "0.10"
    tiers = {t["tier"]: t for t in report["tiers"]}
    assert tiers["drafting"]["spend_usd"] == "0.50" and tiers["drafting"]["members"] == 3
    assert tiers["drafting"]["cap_usd"] == "6.00" and tiers["coding"]["cap_usd"] == "20.00"

    by_user_text = gatewayctl("report", "--month", month_now, "--by", "user", check=True).stdout
    assert "cb-ben" in by_user_text and "$0.60" in by_user_text and "difference $0" in by_user_text

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="finance-evidence", CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    export = gatewayctl("report", "--month", month_now, "--format", "markdown", "--s3-uri",
                        "s3://finance-evidence/chargeback", check=True)
    assert "| CC-A | $0.60 |" in export.stdout
    manifest = json.loads(s3.get_object(Bucket="finance-evidence",
                                        Key=f"chargeback/{month_now}/manifest.json")["Body"].read())
    body = s3.get_object(Bucket="finance-evidence",
                         Key=f"chargeback/{month_now}/chargeback-segments.csv")["Body"].read()
    assert manifest["git_commit"] == "0" * 40 and manifest["csv_sha256"] == hashlib.sha256(body).hexdigest()
    assert manifest["gateway_total_usd"] == report["gateway_total_usd"]
    # chargeback.yml's step: scripts/ci/monthly-chargeback, run from a checkout of the workspace's history,
    # reads the spend-reader key from the secret `apply --spend-reader` wrote (never the master key, never
    # from the environment) and stores the evidence.
    shutil.copytree(REPO / "scripts" / "ci", workspace / "scripts" / "ci")
    secret_id = DEFAULT_SERVICE_PREFIX + "gatewayctl-spend-reader"
    ci_env = {**{k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_", "GITHUB_"))}, **aws_env,
              "LITELLM_BASE_URL": gateway.base_url, "MONTH": month_now, "GITHUB_SHA": "1" * 40,
              "GATEWAYCTL": str(Path(sys.executable).with_name("gatewayctl")),
              "CHARGEBACK_S3_URI": "s3://finance-evidence/ci"}

    def monthly_chargeback(**env: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(workspace / "scripts" / "ci" / "monthly-chargeback")], capture_output=True,
                              text=True, check=False, timeout=300, cwd=workspace, env={**ci_env, **env})

    raw_key = monthly_chargeback(LITELLM_MASTER_KEY=gateway.master_key)
    assert raw_key.returncode == 1 and "LITELLM_SPEND_KEY_SECRET_ID is not set" in raw_key.stderr
    script = monthly_chargeback(LITELLM_SPEND_KEY_SECRET_ID=secret_id)
    assert script.returncode == 0, script.stderr
    assert "| CC-B | $0.50 |" in script.stdout
    assert gateway.master_key not in script.stdout + script.stderr
    ci_manifest = json.loads(s3.get_object(Bucket="finance-evidence", Key=f"ci/{month_now}/manifest.json")["Body"]
                             .read())
    assert ci_manifest["git_commit"] == "1" * 40
    lines = body.decode().splitlines()
    assert lines[0].startswith("period,user_id,tier,cost_center,owner,grant_commit,model")
    ben = [line for line in lines if ",cb-ben," in line]
    assert len(ben) == 2 and {line.split(",")[3] for line in ben} == {"CC-A", "CC-B"}
    assert "sk-" not in body.decode()


def test_report_refuses_a_shallow_or_missing_history(workspace):
    """Refused before any call to the gateway: its URL here is a closed port, not the shared proxy."""
    env = {**os.environ, "LITELLM_BASE_URL": "http://127.0.0.1:9", "LITELLM_MASTER_KEY": "sk-unused",
           "GITHUB_SHA": "0" * 40}

    def gatewayctl(*args: str):
        return run_gatewayctl_in_process(args, workspace, env)

    out = gatewayctl("report", "--month", "2026-11")  # the workspace is no git repository
    assert out.returncode == 1 and "git rev-parse failed" in out.stderr
    git(workspace, "init", "-q")
    commit(workspace, "one")
    commit_two = workspace / "users" / "alice.yaml"
    commit_two.write_text(commit_two.read_text() + "# two\n")
    commit(workspace, "two")
    shallow = workspace.parent / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{workspace}", str(shallow)], check=True)
    out = gatewayctl("report", "--month", "2026-11", "--root", str(shallow))
    assert out.returncode == 1 and "shallow clone" in out.stderr
    bad = gatewayctl("report", "--month", "2026-13")
    assert bad.returncode == 1 and "YYYY-MM" in bad.stderr
