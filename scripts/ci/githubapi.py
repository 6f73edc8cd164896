"""The few GitHub REST calls the report jobs make (stdlib only: those jobs install nothing).

GITHUB_API_URL, GITHUB_REPOSITORY and GITHUB_TOKEN come from the Actions runner; the deploy rehearsal
points GITHUB_API_URL at tests/rehearsal/github_emulator.py.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any


class GitHubError(Exception):
    pass


def call(method: str, path: str, body: dict | None = None) -> Any:
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN") or ""
    if not token:
        raise GitHubError("GITHUB_TOKEN is not set")
    request = urllib.request.Request(  # noqa: S310 (the API URL is the runner's, https)
        f"{api}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                 "X-GitHub-Api-Version": "2022-11-28", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            text = response.read().decode()
    except urllib.error.HTTPError as exc:
        raise GitHubError(f"{method} {path}: HTTP {exc.code} {exc.read().decode(errors='replace')[:300]}") from None
    except urllib.error.URLError as exc:
        raise GitHubError(f"{method} {path}: {exc.reason}") from None
    return json.loads(text) if text else None


def repository() -> str:
    repo = os.environ.get("GITHUB_REPOSITORY", "")
    if "/" not in repo:
        raise GitHubError("GITHUB_REPOSITORY (owner/name) is not set")
    return repo


def run(main) -> None:  # type: ignore[no-untyped-def]
    try:
        sys.exit(main(sys.argv[1:]))
    except GitHubError as exc:
        print(f"::error::{exc}", file=sys.stderr)
        sys.exit(1)


def pull_summary(repo: str, number: int) -> dict:
    """A pull request as the approval evidence needs it: author, head commit, who merged it, and every review
    (each reviewer's decisions in order; reconciler/history/evidence.py works out which approvals count)."""
    pr = call("GET", f"/repos/{repo}/pulls/{number}")
    reviews: list[dict] = []
    page = 1
    while True:
        batch = call("GET", f"/repos/{repo}/pulls/{number}/reviews?per_page=100&page={page}") or []
        reviews += [{"login": (r.get("user") or {}).get("login"), "state": r.get("state"),
                     "submitted_at": r.get("submitted_at"), "commit_id": r.get("commit_id")} for r in batch]
        if len(batch) < 100:
            break
        page += 1
    return {"number": number, "author": (pr.get("user") or {}).get("login"),
            "head_sha": (pr.get("head") or {}).get("sha"), "merged_by": (pr.get("merged_by") or {}).get("login"),
            "merged_at": pr.get("merged_at"), "reviews": reviews}


def merged_pulls_of(repo: str, sha: str) -> list[int]:
    """The pull requests that merged commit `sha` (GitHub's commits/{sha}/pulls): the one whose merge commit it
    is, else any merged one containing it. Not the subject line, which a squash merge may not carry."""
    pulls = call("GET", f"/repos/{repo}/commits/{sha}/pulls?per_page=100") or []
    own = [p["number"] for p in pulls if p.get("merge_commit_sha") == sha and p.get("merged_at")]
    return own or [p["number"] for p in pulls if p.get("merged_at")]
