"""The one place gatewayctl asks git anything: `history`, `--changed-since` (scope), the chargeback's
grant timeline and the commit every plan and audit record names all read the repository through it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from reconciler.errors import GatewayctlError


class GitError(GatewayctlError):
    """git cannot answer (not installed, not a repository, unknown revision): printed without a traceback."""


def git(root: Path, *args: str) -> str:
    """`git -C root ARGS...`'s output; any failure is a GitError that says which command failed."""
    try:
        res = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                             check=False, timeout=120)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out") from None
    if res.returncode != 0:
        raise GitError(f"git {args[0]} failed: {res.stderr.strip() or res.returncode}")
    return res.stdout


def toplevel(root: Path) -> Path:
    try:
        return Path(git(root, "rev-parse", "--show-toplevel").strip())
    except GitError as exc:
        raise GitError(f"{root} is not inside a git repository ({exc})") from None


def is_shallow(root: Path) -> bool:
    try:
        return git(Path(root), "rev-parse", "--is-shallow-repository").strip() == "true"
    except GitError:
        return False


def head_commit(root: Path) -> str:
    """The commit a run acts for: CI's $GITHUB_SHA, else HEAD, else "unknown" (never an error: a plan
    outside git is still a plan)."""
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
