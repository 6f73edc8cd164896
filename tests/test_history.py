"""`gatewayctl history`: access history of one user from git."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_gatewayctl_in_process

from reconciler import cli
from reconciler.history import log as history

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


def user_yaml(tier: str, owner: str = "lead@example.com", expires: str | None = "2027-01-31",
              justification: str = "Drafts release notes.") -> str:
    text = (f"id: x\nname: X Person\nemail: x@example.com\ntier: {tier}\nowner: {owner}\n"
            f"cost_center: CC-1\njustification: {justification}\n")
    return text + (f"expires: {expires}\n" if expires else "")


def commit_file(repo: Path, content: str | None, subject: str, rel: str = "users/x.yaml") -> None:
    path = repo / rel
    if content is None:
        git(repo, "rm", "-q", rel)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        git(repo, "add", rel)
    git(repo, "commit", "-q", "-m", subject)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    git(r, "config", "user.name", "Alice Approver")
    git(r, "config", "user.email", "approver@example.com")
    git(r, "config", "commit.gpgsign", "false")
    commit_file(r, "# readme\n", "Initial commit", rel="README.md")
    # 1. created, squash-merged PR
    commit_file(r, user_yaml("drafting"), "Add x to drafting (#11)")
    # 2. tier change on a branch, merged with a merge commit
    git(r, "checkout", "-q", "-b", "x-coding")
    commit_file(r, user_yaml("coding"), "Move x to coding")
    git(r, "checkout", "-q", "main")
    git(r, "merge", "-q", "--no-ff", "x-coding", "-m", "Merge pull request #12 from example-org/x-coding")
    # 3. owner and expiry change plus a detail
    commit_file(r, user_yaml("coding", owner="new-lead@example.com", expires="2027-06-30",
                             justification="Code review."), "Extend x (#13)")
    # an unrelated commit must not show up
    commit_file(r, "other\n", "Touch something else (#14)", rel="docs/other.md")
    # 4. broken YAML, then a fix that also changes the tier
    commit_file(r, "tier: [unclosed\n", "Oops (#15)")
    commit_file(r, user_yaml("architect", owner="new-lead@example.com", expires="2027-06-30",
                             justification="Code review."), "Fix x and move to architect (#16)")
    # 5. offboarded
    commit_file(r, None, "Offboard x (#17)")
    return r


def kinds(events) -> list[list[str]]:
    return [[c.kind for c in e.changes] for e in events]


def test_events_in_order(repo):
    events = history.user_history(repo, "x")
    assert [e.subject for e in events] == [
        "Add x to drafting (#11)", "Move x to coding", "Extend x (#13)", "Oops (#15)",
        "Fix x and move to architect (#16)", "Offboard x (#17)"]
    assert kinds(events) == [
        ["created"], ["tier_changed"], ["owner_changed", "expiry_changed", "details_changed"],
        ["unparseable"], ["tier_changed"], ["removed"]]


def test_created_grant_and_changes(repo):
    ev = history.user_history(repo, "x")
    created = ev[0].changes[0]
    assert created.new["tier"] == "drafting"
    assert created.new["owner"] == "lead@example.com"
    assert str(created.new["expires"]) == "2027-01-31"
    tier = ev[1].changes[0]
    assert (tier.field, tier.old, tier.new) == ("tier", "drafting", "coding")
    owner, expiry, details = ev[2].changes
    assert (owner.old, owner.new) == ("lead@example.com", "new-lead@example.com")
    assert (str(expiry.old), str(expiry.new)) == ("2027-01-31", "2027-06-30")
    assert details.new == ["justification"]
    # after an unparseable version, the next one is compared with the last good one
    assert (ev[4].changes[0].old, ev[4].changes[0].new) == ("coding", "architect")
    assert ev[5].changes[0].old["tier"] == "architect"


def test_pr_numbers_and_authors(repo):
    ev = history.user_history(repo, "x")
    # squash subjects carry (#N); the branch commit gets the number of the merge that landed it
    assert [e.pr for e in ev] == [11, 12, 13, 15, 16, 17]
    assert {e.author for e in ev} == {"Alice Approver"}
    assert all(len(e.commit) == 40 and e.date[:4].isdigit() for e in ev)


def test_text_and_json_output(repo, capsys):
    args = argparse.Namespace(root=repo, user_id="x", format="text", today=None)
    assert history.cmd_history(args) == 0
    out = capsys.readouterr().out
    assert "created: tier=drafting, owner=lead@example.com, expires=2027-01-31" in out
    assert "tier changed: drafting -> coding" in out
    assert "removed (offboarded)" in out
    assert "PR #12" in out and "unparseable" in out

    args.format = "json"
    assert history.cmd_history(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["user_id"] == "x"
    assert doc["events"][0]["changes"][0] == {
        "kind": "created", "field": None, "old": None,
        "new": {"tier": "drafting", "owner": "lead@example.com", "expires": "2027-01-31"}}
    assert doc["events"][-1]["changes"][0]["kind"] == "removed"


def test_recreated_after_offboarding(repo):
    commit_file(repo, user_yaml("drafting"), "Revert \"Offboard x (#17)\" (#18)")
    ev = history.user_history(repo, "x")
    assert ev[-1].changes[0].kind == "created" and ev[-1].pr == 18


def test_rename_is_followed(repo):
    commit_file(repo, user_yaml("coding"), "Add y (#20)", rel="users/y.yaml")
    git(repo, "mv", "users/y.yaml", "users/z.yaml")
    git(repo, "commit", "-q", "-m", "Rename y to z (#21)")
    ev = history.user_history(repo, "z")
    assert [e.pr for e in ev] == [20, 21]
    assert ev[0].changes[0].kind == "created"


@pytest.mark.parametrize("user_id,message", [
    ("nobody", "never existed"),
    ("../etc/passwd", "not a valid user id"),
])
def test_errors_are_clean(repo, capsys, user_id, message):
    assert cli.main(["history", user_id, "--root", str(repo)]) == 1  # expected failures are the CLI's to print
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_not_a_repository(tmp_path, capsys):
    assert cli.main(["history", "x", "--root", str(tmp_path)]) == 1
    assert "not inside a git repository" in capsys.readouterr().err


def test_git_missing(repo, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(repo / "no-such-dir"))
    assert cli.main(["history", "x", "--root", str(repo)]) == 1
    assert "git is not installed" in capsys.readouterr().err


def test_cli_wires_the_subcommand():
    args = cli.build_parser().parse_args(["history", "alice", "--format", "json", "--root", "/r"])
    assert args.func is history.cmd_history and args.user_id == "alice" and args.root == Path("/r")


def _has_alice_history() -> bool:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "log", "--format=%H", "--", "users/alice.yaml"],
                             capture_output=True, text=True, check=True).stdout
    except (subprocess.CalledProcessError, FileNotFoundError):
        return False
    return bool(out.strip())


@pytest.mark.skipif(not _has_alice_history(), reason="this checkout has no git history for users/alice.yaml")
def test_this_repository_alice():
    ev = history.user_history(ROOT, "alice")
    assert ev[0].changes[0].kind == "created"
    assert ev[0].changes[0].new["tier"]


@pytest.mark.skipif(not _has_alice_history(), reason="no git history of users/alice.yaml")
def test_cli_json_in_process():
    res = run_gatewayctl_in_process(("history", "alice", "--format", "json", "--root", str(ROOT)), ROOT,
                                    dict(os.environ))
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["events"][0]["changes"][0]["kind"] == "created"


@pytest.mark.skipif(not _has_alice_history(), reason="no git history of users/alice.yaml")
@pytest.mark.process
def test_cli_subprocess():
    """An unknown user across the process boundary: exit 1, the message, no traceback."""
    res = subprocess.run([sys.executable, "-m", "reconciler", "history", "nobody-at-all", "--root", str(ROOT)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 1 and "never existed" in res.stderr and "Traceback" not in res.stderr
