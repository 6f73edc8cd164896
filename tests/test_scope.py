"""reconciler/plan/scope.py on a real git repository: which users a change touched, or why the plan is full."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.plan import scope

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    for rel in ("users/alice.yaml", "users/bob.yaml", "users/carol.yaml", "users/README.md",
                "policies/tiers.yaml", "docs/runbook.md", "README.md"):
        (r / rel).parent.mkdir(parents=True, exist_ok=True)
        (r / rel).write_text(f"# {rel}\n")
    git(r, "init", "-q", "-b", "main")
    git(r, "config", "user.name", "T")
    git(r, "config", "user.email", "t@example.com")
    git(r, "config", "commit.gpgsign", "false")
    commit(r, "base")
    return r


def base(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def test_add_modify_delete_and_rename_name_their_users(repo: Path) -> None:
    ref = base(repo)
    (repo / "users/dave.yaml").write_text("id: dave\n")  # added
    (repo / "users/alice.yaml").write_text("id: alice\ntier: coding\n")  # modified
    (repo / "users/bob.yaml").unlink()  # deleted
    git(repo, "mv", "users/carol.yaml", "users/caroline.yaml")  # renamed: both ids
    commit(repo, "change users")
    found = scope.changed_since(repo, ref)
    assert found.scoped and found.commit == ref
    assert found.users == {"alice", "bob", "carol", "caroline", "dave"}
    assert found.note().startswith(f"scoped to 5 user(s) changed since {ref[:12]}")


def test_a_change_made_and_reverted_since_ref_still_counts(repo: Path) -> None:
    # A deploy of the first commit may have failed half-way: the gateway may hold what the revert undid.
    ref = base(repo)
    (repo / "users/bob.yaml").unlink()
    commit(repo, "remove bob")
    git(repo, "revert", "--no-edit", "HEAD")
    (repo / "users/alice.yaml").write_text("id: alice\ntier: coding\n")
    commit(repo, "alice to coding")
    found = scope.changed_since(repo, ref)
    assert found.scoped and found.users == {"alice", "bob"}
    (repo / "policies/tiers.yaml").write_text("# teams: 2\n")
    commit(repo, "tiers")
    git(repo, "revert", "--no-edit", "HEAD")
    found = scope.changed_since(repo, ref)
    assert not found.scoped and "policies/tiers.yaml" in found.full_reason


def test_uncommitted_and_untracked_files_count(repo: Path) -> None:
    ref = base(repo)
    (repo / "users/erin.yaml").write_text("id: erin\n")  # untracked
    (repo / "users/alice.yaml").write_text("id: alice\nedited: true\n")  # modified, not staged
    assert scope.changed_since(repo, ref).users == {"alice", "erin"}
    assert scope.changed_since(repo, "HEAD").users == {"alice", "erin"}


def test_nothing_changed_is_an_empty_scope(repo: Path) -> None:
    found = scope.changed_since(repo, base(repo))
    assert found.scoped and found.users == frozenset()


def test_inert_paths_keep_the_scope(repo: Path) -> None:
    ref = base(repo)
    (repo / "docs/runbook.md").write_text("more\n")
    (repo / "README.md").write_text("more\n")
    (repo / "users/README.md").write_text("more\n")
    (repo / "users/alice.yaml").write_text("changed\n")
    commit(repo, "docs")
    assert scope.changed_since(repo, ref).users == {"alice"}


def test_a_policies_change_plans_in_full_and_says_why(repo: Path) -> None:
    ref = base(repo)
    (repo / "policies/tiers.yaml").write_text("changed\n")
    (repo / "users/alice.yaml").write_text("changed\n")
    commit(repo, "tiers")
    found = scope.changed_since(repo, ref)
    assert not found.scoped
    assert found.full_reason == f"policies/tiers.yaml changed since {ref[:12]} (not only users/)"
    assert found.note() == f"full plan (--changed-since {ref}): {found.full_reason}"


@pytest.mark.parametrize("rel", ["reconciler/plan.py", "schemas/user.schema.json", "gateway/config.yaml",
                                 "users/team/nested.yaml", "pyproject.toml"])
def test_anything_else_that_can_change_a_plan_plans_in_full(repo: Path, rel: str) -> None:
    ref = base(repo)
    (repo / rel).parent.mkdir(parents=True, exist_ok=True)
    (repo / rel).write_text("x\n")
    found = scope.changed_since(repo, ref)
    assert not found.scoped and found.full_reason.startswith(f"{rel} changed since")


def test_unknown_ref_plans_in_full(repo: Path) -> None:
    found = scope.changed_since(repo, "0123456789abcdef0123456789abcdef01234567")
    assert not found.scoped and found.commit is None
    assert "is not a commit in this repository" in found.full_reason
    assert not scope.changed_since(repo, "no-such-branch").scoped


def test_a_ref_that_is_not_an_ancestor_of_head_plans_in_full(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "users/alice.yaml").write_text("side\n")
    side = commit(repo, "side")
    git(repo, "checkout", "-q", "main")
    found = scope.changed_since(repo, side)
    assert not found.scoped and found.full_reason == f"{side[:12]} is not an ancestor of HEAD"


def test_outside_a_git_repository_plans_in_full(tmp_path: Path) -> None:
    found = scope.changed_since(tmp_path, "HEAD")
    assert not found.scoped and "not inside a git repository" in found.full_reason


# ------------------------------------------------------------------ the scoped live read (fake admin API)
def test_scoped_read_holds_exactly_what_the_full_read_holds_for_its_users(tmp_path: Path, workspace: Path) -> None:
    """read_live_scoped against tests/fakelitellm.py: the same rows as read_live for the users asked
    about (existing or not), nothing about anyone else, and no key, membership or secret read for a
    user LiteLLM does not have. The genuine proxy: tests/test_scoped_plan.py."""
    import datetime as dt
    import io

    from fakelitellm import FakeLiteLLM
    from helpers import generate_users

    from reconciler.apply.executor import Executor
    from reconciler.desired.validate import load_desired
    from reconciler.live.keystore import FileStore
    from reconciler.live.state import read_live, read_live_scoped
    from reconciler.plan import PlanContext, build_plan

    today = dt.date(2026, 11, 26)
    fake, store = FakeLiteLLM(), FileStore(tmp_path / "keys")
    ids = generate_users(workspace, 9, prefix="u")
    with fake.client() as client:
        context = PlanContext(today=today, commit="c1")
        plan = build_plan(load_desired(workspace, today=today), read_live(client, store), context)
        Executor(client, store, commit="c1", out=io.StringIO()).execute(plan, concurrency=2, member_batch=100)
        full = read_live(client, store)
        asked = {ids[0], ids[4], "nobody"}
        before = len(fake.calls())
        scoped = read_live_scoped(client, store, asked)
        paths = [p for _, p, _ in fake.calls()[before:]]
    assert set(scoped.users) == {ids[0], ids[4]}
    assert all(scoped.users[u] == full.users[u] for u in scoped.users)
    assert scoped.teams == full.teams
    assert sorted(scoped.keys, key=lambda k: k.token) == sorted(
        (k for k in full.keys if k.user_id in asked), key=lambda k: k.token)
    assert scoped.secrets == {u: full.secrets[u] for u in (ids[0], ids[4])}
    teams = {t for u in (ids[0], ids[4]) for t in full.users[u].teams}
    assert set(scoped.memberships) == teams
    assert all(scoped.memberships[t] == full.memberships[t] for t in teams)
    # One /user/list for the three ids, one /key/list per existing user, one /team/info per their tier.
    assert paths.count("/user/list") == 1 and paths.count("/key/list") == 2 and paths.count("/team/info") == 2
