"""`gatewayctl access`: who could call model-reasoning on a date, with which grant, live since when, approved by
whom, spending what. A real git repository with dated merges (a grant, a tier move, an expiry, a budget
exception, a move out), the deploys' audit records as the deploy writes them, and spend logs from the fake
admin API (tests/fakelitellm.py), read through gatewayctl's own client and spend reader."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fakelitellm import MASTER_KEY, FakeLiteLLM

from reconciler import cli
from reconciler.runctx import RunContext

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")

TIERS = """tiers:
  coding: {display_name: Coding, monthly_budget_usd: 20.00, rpm_limit: 50, models: [model-balanced]}
  architect: {display_name: Architect, monthly_budget_usd: 500.00, rpm_limit: 100, models: [model-reasoning]}
"""


def user(uid: str, tier: str, *, expires: str | None = None, exception: str | None = None,
         owner: str = "lead@example.com") -> str:
    text = (f"id: {uid}\nname: {uid.title()} Person\nemail: {uid}@example.com\ntier: {tier}\nowner: {owner}\n"
            f"cost_center: CC-1\njustification: Reviews designs.\n")
    text += f"expires: {expires}\n" if expires else ""
    return text + (f"budget_exception:\n  extra_usd: {exception}\n  until: 2026-10-31\n  ticket: FIN-7\n"
                   if exception else "")


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.commits: dict[str, str] = {}  # subject tag -> sha
        root.mkdir()
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, when: str | None = None) -> str:
        env = {**os.environ, "GIT_AUTHOR_NAME": "Priya", "GIT_AUTHOR_EMAIL": "priya@example.com",
               "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}
        if when:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
        return subprocess.run(["git", "-C", str(self.root), "-c", "commit.gpgsign=false", *args], check=True,
                              capture_output=True, text=True, env=env).stdout.strip()

    def merge(self, tag: str, when: str, files: dict[str, str | None]) -> str:
        for rel, text in files.items():
            path = self.root / rel
            if text is None:
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", f"{tag} ({tag.split()[0]})", when=when)
        self.commits[tag.split()[0]] = sha = self.git("rev-parse", "HEAD")
        return sha


@pytest.fixture
def history(tmp_path: Path) -> Repo:
    """Times are Asia/Kolkata (+05:30), like the budgets and expiries."""
    r = Repo(tmp_path / "repo")
    r.merge("#40 tiers", "2026-07-01T09:00:00+05:30", {"policies/tiers.yaml": TIERS, "README.md": "x\n"})
    r.merge("#41 add carol to architect", "2026-07-02T10:00:00+05:30",
            {"users/carol.yaml": user("carol", "architect", expires="2027-03-31")})
    r.merge("#42 add erin to coding", "2026-07-05T10:00:00+05:30", {"users/erin.yaml": user("erin", "coding")})
    r.merge("#45 add dave to architect until 2 Oct", "2026-08-10T10:00:00+05:30",
            {"users/dave.yaml": user("dave", "architect", expires="2026-10-02")})
    r.merge("#58 move erin to architect", "2026-09-15T16:00:00+05:30",
            {"users/erin.yaml": user("erin", "architect")})
    r.merge("#60 budget exception for carol", "2026-10-01T10:00:00+05:30",
            {"users/carol.yaml": user("carol", "architect", expires="2027-03-31", exception="100.00")})
    r.merge("#61 move carol to coding", "2026-10-05T12:00:00+05:30",
            {"users/carol.yaml": user("carol", "coding", expires="2027-03-31", exception="100.00")})
    return r


def review(login: str, state: str, at: str, commit_id: str) -> dict:
    return {"login": login, "state": state, "submitted_at": at, "commit_id": commit_id}


def pull(number: int, author: str, reviews: list[dict], head: str = "head") -> dict:
    return {"number": number, "author": author, "merged_by": "ravi", "head_sha": head, "reviews": reviews}


def record(ts: str, commit: str, actions: list[tuple[str, str, str]], **extra) -> str:
    """One apply audit record, as reconciler/apply/executor.py writes it (fields access reads, plus a few)."""
    return json.dumps({"ts": ts, "gatewayctl_version": "0.1.0", "git_commit": commit, "actor": "ravi",
                       "run_id": extra.pop("run_id", "1"), "dry_run": False, "status": "ok",
                       "actions": [{"kind": k, "target": t, "result": res, "error": None, "key_hashes_created": [],
                                    "key_hashes_deleted": []} for k, t, res in actions], **extra})


@pytest.fixture
def evidence(history: Repo, tmp_path: Path) -> Path:
    """Two deploy artifacts' audit logs: carol's grant deployed with approvals captured; erin's move failed
    on the first deploy and went live on the re-run; carol's exception approved only by its author."""
    c = history.commits
    d = tmp_path / "audit"
    (d / "gatewayctl-audit-100-1").mkdir(parents=True)
    (d / "gatewayctl-audit-200-1").mkdir(parents=True)
    (d / "gatewayctl-audit-100-1" / "gatewayctl-audit.jsonl").write_text("\n".join([
        record("2026-07-02T04:42:10+00:00", c["#41"], [("create", "user:carol", "ok")], run_id="100",
               approvals={c["#41"]: {"pulls": [pull(41, "priya", [
                   review("lead-gh", "CHANGES_REQUESTED", "2026-07-02T04:00:00Z", "h0"),
                   review("lead-gh", "APPROVED", "2026-07-02T04:20:00Z", "head"),
                   review("priya", "APPROVED", "2026-07-02T04:21:00Z", "head")])]}}),
        record("2026-08-10T04:45:00+00:00", c["#45"], [("create", "user:dave", "ok")], run_id="101"),
        record("2026-09-15T10:40:00+00:00", c["#58"], [("move", "user:erin", "failed")], run_id="102",
               status="failed"),
        record("2026-09-15T10:41:00+00:00", c["#58"], [], run_id="103", command="rotate"),
        record("2026-09-15T10:42:00+00:00", c["#58"], [], run_id="104", command="notify"),
    ]) + "\n")
    (d / "gatewayctl-audit-200-1" / "gatewayctl-audit.jsonl").write_text("\n".join([
        record("2026-09-16T03:00:00+00:00", c["#58"], [("move", "user:erin", "ok")], run_id="200",
               approvals={c["#58"]: {"pulls": [pull(58, "priya", [
                   review("lead-gh", "APPROVED", "2026-09-15T10:00:00Z", "old"),
                   review("sam", "COMMENTED", "2026-09-15T10:10:00Z", "head")])]}}),
        record("2026-10-01T04:50:00+00:00", c["#60"], [("update", "user:carol", "ok")], run_id="201",
               approvals={c["#60"]: {"pulls": [pull(60, "carol", [
                   review("carol", "APPROVED", "2026-10-01T04:10:00Z", "head")])]}}),
    ]) + "\n")
    (d / "gatewayctl-audit-200-1" / "plan.json").write_text("{}\n")  # other artifacts are skipped
    return d


@pytest.fixture
def gateway(monkeypatch) -> FakeLiteLLM:
    """Spend rows the fake admin API serves; gatewayctl reaches it through its own AdminClient."""
    fake = FakeLiteLLM()

    def row(rid: str, uid: str, at: str, usd: float) -> dict:
        return {"request_id": rid, "startTime": at, "spend": usd, "user": uid, "api_key": "h" * 64, "team_id": None}

    fake.spend_logs += [row("r1", "carol", "2026-10-03T05:00:00", 1.25), row("r2", "carol", "2026-10-03T15:00:00", 2.0),
                        row("r3", "erin", "2026-10-03T06:00:00", 0.5), row("r4", "carol", "2026-10-04T06:00:00", 9.0),
                        row("r5", "alice", "2026-10-03T06:00:00", 4.0),
                        row("r6", "carol", "2026-10-02T18:29:59", 7.0)]  # 23:59:59 on 2 Oct in Kolkata
    monkeypatch.setattr(RunContext, "connect", lambda self: fake.client())
    monkeypatch.setenv("LITELLM_MASTER_KEY", MASTER_KEY)
    return fake


def access(capsys, repo: Repo, *args: str) -> tuple[int, str, str]:
    code = cli.main(["access", "--root", str(repo.root), *args])
    out, err = capsys.readouterr()
    return code, out, err


def as_json(capsys, repo: Repo, *args: str) -> dict:
    code, out, err = access(capsys, repo, *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_who_could_call_it_on_a_date_with_grant_live_approval_and_spend(history, evidence, gateway, capsys):
    doc = as_json(capsys, history, "--model", "model-reasoning", "--at", "2026-10-03", "--evidence", str(evidence),
                  "--base-url", "http://gateway")
    c = history.commits
    users = {u["user_id"]: u for u in doc["users"]}
    # dave's grant ended on 2 Oct; alice never had it; carol (with her exception) and erin (moved in) had.
    assert sorted(users) == ["carol", "erin"]
    carol, erin = users["carol"], users["erin"]
    assert (carol["tier"], carol["budget_usd"], carol["expires"], carol["grant_commit"]) == (
        "architect", "500.00", "2027-03-31", c["#60"])
    assert carol["budget_exception"] == {"extra_usd": "100.00", "until": "2026-10-31", "active": True}
    assert carol["live"]["since"] == "2026-10-01T04:50:00+00:00" and carol["live"]["run_id"] == "201"
    assert carol["live"]["record"].endswith("gatewayctl-audit-200-1/gatewayctl-audit.jsonl:2")
    # carol's exception was approved by carol herself, the PR's author: that is no approval.
    assert carol["approvals"]["pulls"] == [{"number": 60, "author": "carol", "merged_by": "ravi", "approved_by": []}]
    assert carol["spend"] == {"usd": "3.25", "calls": 2, "note": None}
    # erin's move failed on the first deploy (run 102) and went live on the re-run (200), not with a rotation.
    assert (erin["grant_commit"], erin["live"]["run_id"], erin["live"]["since"]) == (
        c["#58"], "200", "2026-09-16T03:00:00+00:00")
    (approval,) = erin["approvals"]["pulls"][0]["approved_by"]
    assert (approval["login"], approval["on_head"]) == ("lead-gh", False)  # approved an earlier push
    assert erin["spend"]["usd"] == "0.50"
    assert doc["question"]["start_utc"] == "2026-10-02T18:30:00Z" and doc["sources"]["spend"] == "read"


def test_the_day_before_the_expiry_and_after_the_move_out(history, evidence, capsys):
    c = history.commits
    on_2nd = as_json(capsys, history, "--model", "model-reasoning", "--at", "2026-10-02", "--evidence", str(evidence))
    dave = next(u for u in on_2nd["users"] if u["user_id"] == "dave")
    assert (dave["expires"], dave["live"]["run_id"], dave["approvals"]["status"]) == ("2026-10-02", "101",
                                                                                      "not captured")
    assert sorted(u["user_id"] for u in on_2nd["users"]) == ["carol", "dave", "erin"]
    after = as_json(capsys, history, "--model", "model-reasoning", "--at", "2026-10-06")
    assert [u["user_id"] for u in after["users"]] == ["erin"]
    assert as_json(capsys, history, "--model", "model-reasoning", "--at", "2026-07-01")["users"] == []
    on_grant_day = as_json(capsys, history, "--model", "model-reasoning", "--at", "2026-07-02",
                           "--evidence", str(evidence))
    (carol,) = on_grant_day["users"]
    assert (carol["grant_commit"], carol["access_from"]) == (c["#41"], "2026-07-02T04:30:00Z")
    assert [a["login"] for a in carol["approvals"]["pulls"][0]["approved_by"]] == ["lead-gh"]  # not priya (author)
    assert carol["budget_exception"] is None


def test_a_range_lists_each_grant_a_user_held_and_when(history, capsys):
    c = history.commits
    doc = as_json(capsys, history, "--model", "model-reasoning", "--from", "2026-10-01", "--to", "2026-10-06")
    got = [(u["user_id"], u["grant_commit"], u["access_from"], u["access_to"]) for u in doc["users"]]
    assert got == [
        ("carol", c["#41"], "2026-09-30T18:30:00Z", "2026-10-01T04:30:00Z"),  # until the exception merged
        ("carol", c["#60"], "2026-10-01T04:30:00Z", "2026-10-05T06:30:00Z"),  # until the move to coding
        ("dave", c["#45"], "2026-09-30T18:30:00Z", "2026-10-02T18:30:00Z"),  # to the end of 2 Oct, Kolkata
        ("erin", c["#58"], "2026-09-30T18:30:00Z", "2026-10-06T18:30:00Z"),
    ]
    tier = as_json(capsys, history, "--tier", "coding", "--at", "2026-10-06")
    assert sorted(u["user_id"] for u in tier["users"]) == ["carol"]


def test_text_and_csv(history, evidence, gateway, capsys):
    code, out, _ = access(capsys, history, "--model", "model-reasoning", "--at", "2026-10-03", "--evidence",
                          str(evidence), "--base-url", "http://gateway")
    assert code == 0
    assert out.startswith("model model-reasoning on 2026-10-03 (Asia/Kolkata days: 2026-10-02T18:30:00Z to "
                          "2026-10-03T18:30:00Z): 2 user(s) could call it")
    assert ("  grant     tier architect, budget $500.00/month, expires 2027-03-31, exception +$100.00 until "
            "2026-10-31; owner lead@example.com, cost center CC-1") in out
    assert "  approved  PR #60 by carol, merged by ravi; approved by NO APPROVAL by anyone but the author" in out
    assert "  spend     $3.25 in 2 call(s) in the window under this grant" in out
    assert "  live      since 2026-09-16T03:00:00+00:00 (deploy run 200" in out
    code, out, _ = access(capsys, history, "--model", "model-reasoning", "--at", "2026-10-03", "--evidence",
                          str(evidence), "--base-url", "http://gateway", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["user_id"], r["approved_by"], r["spend_usd"], r["deploy_run"]) for r in rows] == [
        ("carol", "(none)", "3.25", "201"), ("erin", "lead-gh(earlier-push)", "0.50", "200")]


def test_offline_the_grant_part_answers_and_each_column_says_why_it_is_empty(history, gateway, capsys, monkeypatch):
    doc = as_json(capsys, history, "--model", "model-reasoning", "--at", "2026-10-03")
    carol = doc["users"][0]
    assert carol["live"]["note"] == "no audit records given (--evidence)"
    assert carol["approvals"]["status"] == "unknown"
    assert carol["spend"]["note"] == "not read: no gateway (--base-url or $LITELLM_BASE_URL)"
    gateway.fail("GET", "/spend/logs/v2", status=500, times=100)
    doc = as_json(capsys, history, "--model", "model-reasoning", "--at", "2026-10-03", "--base-url", "http://gw",
                  "--retries", "0")
    assert doc["users"][0]["spend"]["note"].startswith("unavailable: ") and doc["users"][0]["tier"] == "architect"
    monkeypatch.delenv("LITELLM_MASTER_KEY")
    doc = as_json(capsys, history, "--model", "model-reasoning", "--at", "2026-10-03", "--base-url", "http://gw")
    assert "no key ($LITELLM_MASTER_KEY" in doc["users"][0]["spend"]["note"]


@pytest.mark.parametrize(("args", "message"), [
    (["--model", "model-nope", "--at", "2026-10-03"], "--model model-nope: no tier in policies/tiers.yaml names"),
    (["--tier", "gold", "--at", "2026-10-03"], "--tier gold: not a tier"),
    (["--model", "model-reasoning", "--at", "2026-10-03", "--from", "2026-10-01"], "either --at DATE or"),
    (["--model", "model-reasoning", "--from", "2026-10-03"], "both --from DATE and --to DATE"),
    (["--model", "model-reasoning", "--from", "2026-10-03", "--to", "2026-10-01"], "--to 2026-10-01 is before"),
])
def test_bad_questions_are_clean_errors(history, capsys, args, message):
    code, _, err = access(capsys, history, *args)
    assert code == 1 and message in err and "Traceback" not in err


def test_a_bad_audit_record_is_named_by_file_and_line(history, evidence, capsys):
    log = evidence / "gatewayctl-audit-100-1" / "gatewayctl-audit.jsonl"
    log.write_text(log.read_text() + "{not json\n")
    code, _, err = access(capsys, history, "--model", "model-reasoning", "--at", "2026-10-03", "--evidence",
                          str(evidence))
    assert code == 1 and f"error: {log}:6: not a JSON audit record" in err
    log.write_text('{"ts": "2026-07-02T04:42:10+00:00"}\n')
    code, _, err = access(capsys, history, "--model", "model-reasoning", "--at", "2026-10-03", "--evidence", str(log))
    assert code == 1 and f"{log}:1: not an apply audit record" in err
    code, _, err = access(capsys, history, "--model", "model-reasoning", "--at", "2026-10-03", "--evidence",
                          str(evidence / "missing"))
    assert code == 1 and "no such file or directory" in err


def test_help_names_the_three_questions():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["access"]
    text = sub.format_help()
    for needle in ("--model ALIAS", "--tier KEY", "--at YYYY-MM-DD", "--from YYYY-MM-DD", "--evidence PATH",
                   "approved", "spent"):
        assert needle in text
