"""scripts/ci/pr-files: the trusted PR plan takes the pull request's users/ and policies/ as data,
regular files only, and nothing else of the pull request (issue #19, "No credentials for unreviewed
code")."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def trusted(tmp_path: Path) -> Path:
    """A base-branch checkout: scripts/ci, users/, policies/ and code the PR must not replace."""
    repo = tmp_path / "base"
    shutil.copytree(ROOT / "scripts" / "ci", repo / "scripts" / "ci")
    (repo / "users").mkdir(parents=True)
    (repo / "users" / "alice.yaml").write_text("base alice\n")
    (repo / "users" / "bob.yaml").write_text("base bob\n")
    (repo / "policies").mkdir()
    (repo / "policies" / "tiers.yaml").write_text("base tiers\n")
    (repo / "reconciler").mkdir()
    (repo / "reconciler" / "cli.py").write_text("trusted code\n")
    return repo


def pull_request(tmp_path: Path) -> Path:
    pr = tmp_path / "base" / ".pr-data"
    (pr / "users" / "team-a").mkdir(parents=True)
    (pr / "users" / "alice.yaml").write_text("pr alice\n")
    (pr / "users" / "team-a" / "carol.yaml").write_text("pr carol\n")
    (pr / "policies").mkdir()
    (pr / "policies" / "tiers.yaml").write_text("pr tiers\n")
    (pr / "reconciler").mkdir()
    (pr / "reconciler" / "cli.py").write_text("PR code\n")
    return pr


def pr_files(repo: Path, arg: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(repo / "scripts" / "ci" / "pr-files"), arg], cwd=repo, capture_output=True,
                          text=True, timeout=60, check=False)


def test_takes_users_and_policies_and_nothing_else(tmp_path: Path, trusted: Path):
    pull_request(tmp_path)
    proc = pr_files(trusted, ".pr-data")
    assert proc.returncode == 0, proc.stderr
    assert sorted(str(p.relative_to(trusted)) for p in (trusted / "users").rglob("*.yaml")) == [
        "users/alice.yaml", "users/team-a/carol.yaml"]  # bob is deleted in the PR: gone here too
    assert (trusted / "users" / "alice.yaml").read_text() == "pr alice\n"
    assert (trusted / "policies" / "tiers.yaml").read_text() == "pr tiers\n"
    assert (trusted / "reconciler" / "cli.py").read_text() == "trusted code\n"
    assert not (trusted / ".pr-data").exists()


@pytest.mark.parametrize("where", ["users/evil.yaml", "policies/models.yaml"])
def test_refuses_a_symbolic_link(tmp_path: Path, trusted: Path, where: str):
    pr = pull_request(tmp_path)
    (pr / where).unlink(missing_ok=True)
    (pr / where).symlink_to("/etc/passwd")
    proc = pr_files(trusted, ".pr-data")
    assert proc.returncode == 1 and "not a regular file" in proc.stderr, proc.stderr
    assert (trusted / "users" / "alice.yaml").read_text() == "base alice\n", "nothing may change on refusal"
    assert (trusted / "policies" / "tiers.yaml").read_text() == "base tiers\n"


def test_refuses_its_own_checkout(trusted: Path):
    proc = pr_files(trusted, ".")
    assert proc.returncode == 1 and "separate checkout" in proc.stderr
    assert (trusted / "users" / "bob.yaml").exists()
