"""`gatewayctl access` end to end on the shared genuine LiteLLM proxy: a grant merged through a pull request the
GitHub emulator knows (approved by the owner, also by its author), the deploy's steps as deploy.yml runs them
(scripts/ci/fetch-approvals with the token, then `gatewayctl apply --approvals` without it), real calls on
model-reasoning, then one `access` run that answers who could call it, since when, approved by whom, at what
cost, the cost read back from LiteLLM's spend logs."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import chat, reset_gateway, secret_key, write_user

from reconciler.desired.policy import BUDGET_TZ

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "rehearsal"))
from github_emulator import GitHubEmulator  # noqa: E402

pytestmark = pytest.mark.integration

FIFTY_CENTS_OPUS = "bill [[usage in=100000 out=0]]"  # Opus 4.5 at $5 per million input tokens


def git(ws: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", "-C", str(ws), "-c", "commit.gpgsign=false", *args], check=True, env=env,
                          capture_output=True, text=True).stdout.strip()


def spend_rows(admin, start: dt.datetime, user: str, count: int, seconds: float = 120) -> list[dict]:
    """The user's rows as LiteLLM's own API lists them (written in batches, so waited for)."""
    deadline = time.monotonic() + seconds
    while True:
        body = admin.get("/spend/logs/v2", params={"start_date": start.strftime("%Y-%m-%d %H:%M:%S"),
                                                    "end_date": "2100-01-01 00:00:00", "page_size": 1000}).json()
        rows = [r for r in body["data"] if r.get("user") == user]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(2)


def test_access_answers_who_when_approved_by_whom_and_at_what_cost(gatewayctl, workspace, gateway, admin):
    reset_gateway(admin)
    for p in (workspace / "users").glob("*.yaml"):
        p.unlink()
    write_user(workspace, "acc-carol", "architect", owner="platform-lead@example.com")
    write_user(workspace, "acc-dan", "drafting", owner="platform-lead@example.com")
    git(workspace, "init", "-q", "-b", "main")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "Grant acc-carol the reasoning model")  # a squash merge, no "(#n)"
    merged = git(workspace, "rev-parse", "HEAD")
    shutil.copytree(ROOT / "scripts" / "ci", workspace / "scripts" / "ci")  # the deploy's checkout has them

    github = GitHubEmulator()
    try:
        number = github.open_pull("priya", "7" * 40)
        github.review(number, "priya")  # the author's own approval: never counted
        github.review(number, "platform-lead")
        github.merge(number, merged, "ravi")
        env = {**os.environ, "GITHUB_API_URL": github.url, "GITHUB_TOKEN": "ghs_emulated",
               "GITHUB_REPOSITORY": "example-org/llm-gateway-gitops"}
        subprocess.run([sys.executable, "scripts/ci/fetch-approvals", "approvals.json"], cwd=workspace, env=env,
                       check=True, capture_output=True, timeout=60)
    finally:
        github.close()
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    gatewayctl("apply", "--confirm", "--approvals", "approvals.json", "--audit-log", "audit.jsonl",
               env={"GITHUB_SHA": merged, "GITHUB_RUN_ID": "4242"}, check=True)
    record = json.loads((workspace / "audit.jsonl").read_text().splitlines()[-1])
    assert record["command"] == "apply" and list(record["approvals"]) == [merged]

    for _ in range(2):
        r = chat(gateway.base_url, secret_key("acc-carol"), "model-reasoning", FIFTY_CENTS_OPUS)
        assert r.status_code == 200, r.text
    rows = spend_rows(admin, started, "acc-carol", 2)
    assert len(rows) == 2, rows
    logged = sum(Decimal(str(r["spend"])) for r in rows)

    today = dt.datetime.now(BUDGET_TZ).date()  # a window that surely holds the merge and the calls
    proc = gatewayctl("access", "--model", "model-reasoning", "--from", str(today - dt.timedelta(days=1)),
                      "--to", str(today), "--evidence", "audit.jsonl", "--format", "json", check=True)
    (carol,) = json.loads(proc.stdout)["users"]  # acc-dan's tier has no model-reasoning
    assert (carol["user_id"], carol["tier"], carol["budget_usd"], carol["grant_commit"]) == (
        "acc-carol", "architect", "500.00", merged)
    assert carol["live"]["status"] == "live" and carol["live"]["run_id"] == "4242"
    assert carol["live"]["record"].endswith("audit.jsonl:1") and carol["live"]["action"] == "create"
    (pull,) = carol["approvals"]["pulls"]
    assert (pull["number"], pull["author"], [a["login"] for a in pull["approved_by"]]) == (
        number, "priya", ["platform-lead"])
    assert Decimal(carol["spend"]["usd"]) == logged.quantize(Decimal("0.01")) == Decimal("1.00")
    assert carol["spend"]["calls"] == 2
