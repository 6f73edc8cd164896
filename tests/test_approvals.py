"""Approvals captured and checked, against the GitHub emulator the rehearsal uses (a real HTTP server).

The PR check: scripts/ci/pr-reviews (the step with the token) fetches the pull request and its reviews,
`gatewayctl check-approvals` (the step without) decides with the base branch's rules. At deploy,
scripts/ci/fetch-approvals finds each commit's pull request through commits/{sha}/pulls and the apply
stores the approvals of every grant it changes in its audit record, which `gatewayctl access` reads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from reconciler import cli
from reconciler.history.evidence import captured_for

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "rehearsal"))
from github_emulator import GitHubEmulator  # noqa: E402

REPO = "example-org/llm-gateway-gitops"
APPROVERS = """owners:
  lead@example.com: [lead-gh]
  other-lead@example.com: [other-gh]
teams:
  example-org/llm-gateway-approvers: [approver-gh]
"""


def user(uid: str, tier: str, owner: str = "lead@example.com", exception: bool = False) -> str:
    text = (f"id: {uid}\nname: {uid.title()} Person\nemail: {uid}@example.com\ntier: {tier}\nowner: {owner}\n"
            "cost_center: CC-1\njustification: Reviews designs.\n")
    return text + ("budget_exception:\n  extra_usd: 50\n  until: 2031-01-31\n  ticket: FIN-1\n" if exception else "")


@pytest.fixture
def github():
    gh = GitHubEmulator()
    yield gh
    gh.close()


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """The base branch's checkout: its rules (approvers.yaml, the project's own CODEOWNERS) and users/."""
    b = tmp_path / "base"
    (b / "users").mkdir(parents=True)
    (b / ".github").mkdir()
    shutil.copytree(ROOT / "policies", b / "policies")
    (b / "policies" / "approvers.yaml").write_text(APPROVERS)
    shutil.copy(ROOT / ".github" / "CODEOWNERS", b / ".github" / "CODEOWNERS")
    (b / "users" / "carol.yaml").write_text(user("carol", "drafting"))
    (b / "users" / "bob.yaml").write_text(user("bob", "coding"))
    return b


@pytest.fixture
def proposed(base: Path, tmp_path: Path) -> Path:
    p = tmp_path / "pr"
    p.mkdir()
    shutil.copytree(base / "users", p / "users")
    shutil.copytree(base / "policies", p / "policies")
    return p


def gh_env(github: GitHubEmulator, **extra: str) -> dict[str, str]:
    return {**os.environ, "GITHUB_API_URL": github.url, "GITHUB_TOKEN": "ghs_emulated", "GITHUB_REPOSITORY": REPO,
            **extra}


def check(github: GitHubEmulator, number: int, base: Path, proposed: Path, capsys, tmp_path: Path):
    """The two steps of .github/workflows/approvals.yml: fetch (with the token), then check (without)."""
    pull = tmp_path / "pull-request.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "ci" / "pr-reviews"), str(pull)], check=True,
                   env=gh_env(github, PR_NUMBER=str(number)), capture_output=True, timeout=60)
    code = cli.main(["check-approvals", "--root", str(base), "--pull-request", str(pull), "--proposed", str(proposed)])
    out, err = capsys.readouterr()
    return code, out + err


@pytest.fixture
def tier_move(github, proposed) -> int:
    """Priya's pull request moving carol from drafting to architect."""
    (proposed / "users" / "carol.yaml").write_text(user("carol", "architect"))
    return github.open_pull("priya", "a" * 40)


def test_the_owner_approved_passes(github, base, proposed, tier_move, capsys, tmp_path):
    github.review(tier_move, "lead-gh")
    code, out = check(github, tier_move, base, proposed, capsys, tmp_path)
    assert code == 0, out
    assert "ok: users/carol.yaml: tier drafting -> architect changed: approved by lead-gh (the owner " \
           "lead@example.com (lead-gh))" in out


def test_no_approval_fails_naming_the_file_and_the_approver(github, base, proposed, tier_move, capsys, tmp_path):
    code, out = check(github, tier_move, base, proposed, capsys, tmp_path)
    assert code == 1
    assert ("FAIL: users/carol.yaml: tier drafting -> architect changed: needs an approval from the owner "
            "lead@example.com (lead-gh): no approval by the owner lead@example.com (lead-gh) on the latest push; "
            "approvals that count: none") in out


def test_the_owner_cannot_approve_their_own_pull_request(github, base, proposed, capsys, tmp_path):
    (proposed / "users" / "carol.yaml").write_text(user("carol", "architect"))
    number = github.open_pull("lead-gh", "b" * 40)
    github.review(number, "lead-gh")
    code, out = check(github, number, base, proposed, capsys, tmp_path)
    assert code == 1 and "the author lead-gh cannot approve their own change" in out


@pytest.mark.parametrize("reviews", [
    [("approver-gh", "APPROVED")],  # a code owner, but not carol's owner
    [("other-gh", "APPROVED"), ("priya", "APPROVED")],  # another owner; the author
    [("lead-gh", "APPROVED"), ("lead-gh", "CHANGES_REQUESTED")],  # the owner's latest decision is no
    [("lead-gh", "APPROVED"), ("lead-gh", "DISMISSED")],
])
def test_the_wrong_person_or_a_withdrawn_approval_fails(github, base, proposed, tier_move, capsys, tmp_path, reviews):
    for login, state in reviews:
        github.review(tier_move, login, state)
    github.review(tier_move, "sam", "COMMENTED")
    code, out = check(github, tier_move, base, proposed, capsys, tmp_path)
    assert code == 1 and "needs an approval from the owner lead@example.com (lead-gh)" in out


def test_an_approval_of_an_earlier_push_does_not_count(github, base, proposed, tier_move, capsys, tmp_path):
    github.review(tier_move, "lead-gh")
    github.push(tier_move, "c" * 40)
    code, out = check(github, tier_move, base, proposed, capsys, tmp_path)
    assert code == 1 and "approvals of an earlier push do not count: lead-gh" in out
    github.review(tier_move, "lead-gh")  # approved again, on the new head
    assert check(github, tier_move, base, proposed, capsys, tmp_path)[0] == 0


def test_exception_addition_owner_change_and_removal(github, base, proposed, capsys, tmp_path):
    (proposed / "users" / "carol.yaml").write_text(user("carol", "drafting", exception=True))
    (proposed / "users" / "dave.yaml").write_text(user("dave", "coding", owner="other-lead@example.com"))
    (proposed / "users" / "bob.yaml").write_text(user("bob", "coding", owner="other-lead@example.com"))
    number = github.open_pull("priya", "d" * 40)
    github.review(number, "other-gh")
    code, out = check(github, number, base, proposed, capsys, tmp_path)
    assert code == 1
    assert "ok: users/dave.yaml: added: approved by other-gh" in out
    assert "ok: users/bob.yaml: owner lead@example.com -> other-lead@example.com changed: approved by other-gh" in out
    assert "FAIL: users/bob.yaml: owner changed (the previous owner too): needs an approval from the owner " \
           "lead@example.com" in out
    assert "FAIL: users/carol.yaml: budget_exception None -> {" in out
    github.review(number, "lead-gh")
    assert check(github, number, base, proposed, capsys, tmp_path)[0] == 0
    (proposed / "users" / "carol.yaml").unlink()  # offboarding takes access away: no owner's approval needed
    code, out = check(github, number, base, proposed, capsys, tmp_path)
    assert code == 0 and "carol" not in out.replace("pull request", "")


def test_an_owner_without_a_login_fails_with_what_to_do(github, base, proposed, capsys, tmp_path):
    (proposed / "users" / "erin.yaml").write_text(user("erin", "coding", owner="nobody@example.com"))
    number = github.open_pull("priya", "e" * 40)
    github.review(number, "lead-gh")
    code, out = check(github, number, base, proposed, capsys, tmp_path)
    assert code == 1 and "the owner nobody@example.com has no GitHub login in policies/approvers.yaml" in out


def test_a_tier_change_needs_a_code_owner(github, base, proposed, capsys, tmp_path):
    tiers = proposed / "policies" / "tiers.yaml"
    tiers.write_text(tiers.read_text().replace("monthly_budget_usd: 500.00", "monthly_budget_usd: 900.00"))
    number = github.open_pull("priya", "f" * 40)
    github.review(number, "lead-gh")  # an owner of users, not a code owner of policies/
    code, out = check(github, number, base, proposed, capsys, tmp_path)
    assert code == 1 and "FAIL: policies/tiers.yaml: changed: needs an approval from a code owner of " \
                         "policies/tiers.yaml (@example-org/llm-gateway-approvers)" in out
    github.review(number, "approver-gh")  # a member of the CODEOWNERS team, per approvers.yaml
    code, out = check(github, number, base, proposed, capsys, tmp_path)
    assert code == 0 and "ok: policies/tiers.yaml: changed: approved by approver-gh" in out


def test_the_pull_request_cannot_name_its_own_approvers(github, base, proposed, tier_move, capsys, tmp_path):
    """The PR maps carol's owner to the author: the base branch's approvers.yaml decides, and the change to
    approvers.yaml itself needs a code owner."""
    (proposed / "policies" / "approvers.yaml").write_text(APPROVERS.replace("[lead-gh]", "[lead-gh, friend]"))
    github.review(tier_move, "friend")
    code, out = check(github, tier_move, base, proposed, capsys, tmp_path)
    assert code == 1 and "FAIL: users/carol.yaml" in out and "FAIL: policies/approvers.yaml: changed" in out


def test_a_link_in_the_pull_request_is_refused(github, base, proposed, capsys, tmp_path):
    (proposed / "users" / "mallory.yaml").symlink_to("/etc/passwd")
    number = github.open_pull("priya", "1" * 40)
    code, out = check(github, number, base, proposed, capsys, tmp_path)
    assert code == 1 and "users/mallory.yaml" in out and "root:" not in out


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_COMMITTER_DATE": "2026-10-01T10:00:00+05:30",
           "GIT_AUTHOR_DATE": "2026-10-01T10:00:00+05:30"}
    return subprocess.run(["git", "-C", str(repo), "-c", "commit.gpgsign=false", *args], check=True, env=env,
                          capture_output=True, text=True).stdout.strip()


def test_deploy_captures_the_approvals_and_access_reports_them(github, tmp_path, capsys):
    """A squash merge whose subject names no PR: scripts/ci/fetch-approvals finds it through commits/{sha}/pulls;
    the apply's audit record keeps the approvals of the grant it changed; access reads them from the record."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "scripts" / "ci", repo / "scripts" / "ci")
    (repo / "users").mkdir()
    (repo / "policies").mkdir()
    (repo / "policies" / "tiers.yaml").write_text(
        "tiers:\n  architect: {monthly_budget_usd: 500.00, models: [model-reasoning]}\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "tiers")
    (repo / "users" / "carol.yaml").write_text(user("carol", "architect"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Give carol the reasoning model")  # no "(#n)"
    merged = git(repo, "rev-parse", "HEAD")
    number = github.open_pull("priya", "9" * 40)
    github.review(number, "priya")
    github.review(number, "lead-gh")
    github.merge(number, merged, "ravi")
    subprocess.run([sys.executable, str(repo / "scripts" / "ci" / "fetch-approvals"), "approvals.json"], cwd=repo,
                   check=True, env=gh_env(github), capture_output=True, timeout=60)
    plan = SimpleNamespace(actions=[SimpleNamespace(kind="move", target="user:carol"),
                                    SimpleNamespace(kind="rotate", target="user:bob")])
    captured = captured_for(repo, plan, repo / "approvals.json")
    assert list(captured) == [merged]
    (pull,) = captured[merged]["pulls"]
    assert (pull["number"], pull["author"], pull["merged_by"]) == (number, "priya", "ravi")
    record = {"ts": "2099-01-01T00:00:00+00:00", "git_commit": merged, "dry_run": False, "status": "ok",
              "actions": [{"kind": "move", "target": "user:carol", "result": "ok"}], "approvals": captured}
    (tmp_path / "audit.jsonl").write_text(json.dumps(record) + "\n")
    assert cli.main(["access", "--root", str(repo), "--model", "model-reasoning", "--at", "2026-10-01", "--evidence",
                     str(tmp_path / "audit.jsonl"), "--format", "json"]) == 0
    (carol,) = json.loads(capsys.readouterr().out)["users"]
    assert [a["login"] for a in carol["approvals"]["pulls"][0]["approved_by"]] == ["lead-gh"]
    # The fetched file alone is evidence of the approvals too (no deploy record: not live, and it says so).
    assert cli.main(["access", "--root", str(repo), "--model", "model-reasoning", "--at", "2026-10-01", "--evidence",
                     str(repo / "approvals.json"), "--format", "json"]) == 0
    (carol,) = json.loads(capsys.readouterr().out)["users"]
    assert carol["approvals"]["pulls"][0]["number"] == number and carol["live"]["status"] == "not deployed"
    # GitHub unreachable at deploy: the record says so for that commit, and the deploy goes on.
    (repo / "approvals.json").write_text(json.dumps({"commits": {merged: {"error": "GET ...: HTTP 503"}}}))
    assert captured_for(repo, plan, repo / "approvals.json") == {merged: {"error": "GET ...: HTTP 503"}}
    assert "error" in captured_for(repo, plan, repo / "missing.json")[merged]


def test_the_deploys_approvals_file_does_not_widen_a_scoped_deploy(tmp_path):
    """fetch-approvals leaves approvals.json untracked beside the checkout; --changed-since counts untracked
    files, so .gitignore must name it or every deploy would fall back to a full plan."""
    from reconciler.plan.scope import changed_since

    repo = tmp_path / "repo"
    (repo / "users").mkdir(parents=True)
    shutil.copy(ROOT / ".gitignore", repo / ".gitignore")
    (repo / "users" / "carol.yaml").write_text(user("carol", "architect"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "grants")
    (repo / "approvals.json").write_text("{}\n")
    (repo / "pull-request.json").write_text("{}\n")
    scope = changed_since(repo, "HEAD")
    assert scope.users == frozenset() and scope.full_reason is None, scope.full_reason


def test_the_approvals_workflow_reruns_on_reviews_with_the_least_privilege():
    from test_workflows import RUNS_GATEWAYCTL, by_name, expanded, jobs, steps

    doc = by_name("approvals.yml")
    assert set(doc["on"]) == {"pull_request", "pull_request_review"}
    assert {"submitted", "dismissed"} <= set(doc["on"]["pull_request_review"]["types"])
    assert doc["permissions"] == {}
    (job,) = jobs(doc).values()
    assert job["permissions"] == {"contents": "read", "pull-requests": "read"}
    base, data = [s for s in steps(job) if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.ref }}", "the rules are the base branch's"
    assert data["with"]["path"] == ".pr-data" and data["with"]["sparse-checkout"].split() == ["users", "policies"]
    with_token = [s for s in steps(job) if "GITHUB_TOKEN" in (s.get("env") or {})]
    assert [s["run"] for s in with_token] == ["scripts/ci/pr-reviews pull-request.json"]
    assert not RUNS_GATEWAYCTL.search(expanded(with_token[0]["run"])), "the token never meets gatewayctl"
    assert steps(job)[-1]["run"] == "scripts/ci/check-approvals pull-request.json .pr-data"


def test_the_deploy_fetches_approvals_in_a_step_of_its_own():
    from test_workflows import RUNS_GATEWAYCTL, by_name, expanded, jobs, steps

    job = jobs(by_name("deploy.yml"))["reconcile"]
    assert job["permissions"]["pull-requests"] == "read"
    names = [s.get("run") for s in steps(job)]
    fetch = next(s for s in steps(job) if s.get("run") == "scripts/ci/fetch-approvals approvals.json")
    assert fetch["env"] == {"GITHUB_TOKEN": "${{ github.token }}"} and fetch["continue-on-error"] is True
    assert not RUNS_GATEWAYCTL.search(expanded(fetch["run"]))
    assert names.index(fetch["run"]) < names.index("scripts/ci/reconcile")
    assert "--approvals approvals.json" in (ROOT / "scripts" / "ci" / "reconcile").read_text()
