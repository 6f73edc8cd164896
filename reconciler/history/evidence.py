"""The deploy evidence `gatewayctl access` joins with git: apply audit records and captured approvals.

An apply audit record (one JSON line per `gatewayctl apply`, reconciler/apply/executor.py, kept as the
deploy's artifact `gatewayctl-audit-<run>-<attempt>`) says when a commit reached the gateway. A grant
written by commit C is live from the first apply whose commit is C or a later commit of the same
first-parent history (main), that was not a dry run and whose action on that user, if any, did not
fail. Only apply records count (`"command": "apply"`, or no `command` in records older than it): `rotate`
applies only key rotations, and `notify` (budget alerts) changes nothing on the gateway.

The approvals of each changed grant are in the same record (`approvals`, written by apply
--approvals FILE at deploy) or in such a FILE itself (scripts/ci/fetch-approvals): per commit, the
pull requests GitHub associates with it and their reviews. A reviewer's approval counts when it is
their latest decision on the pull request and they are not its author (no self-approval).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import GatewayctlError, expected_io

DECISIONS = ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")  # a COMMENTED review changes no decision


class EvidenceError(GatewayctlError):
    """An audit record or approvals file that cannot be read: the message names file:line."""


@dataclass(frozen=True)
class Deploy:
    ts: dt.datetime
    commit: str
    run_id: str | None
    source: str  # file:line
    failed_users: frozenset[str]
    acted: dict[str, str]  # user id -> action kind


@dataclass
class Evidence:
    deploys: list[Deploy] = field(default_factory=list)
    approvals: dict[str, dict] = field(default_factory=dict)  # commit -> {"pulls": [...]} or {"error": ...}
    files: int = 0


def effective_approvals(pull: dict) -> list[dict]:
    """The reviewers whose latest decision on `pull` is an approval, the author left out (no self-approval).
    Each: login, submitted_at, commit_id, and `on_head` (the approval was of the pull request's last push)."""
    latest: dict[str, dict] = {}
    for review in sorted(pull.get("reviews") or [], key=lambda r: r.get("submitted_at") or ""):
        if review.get("state") in DECISIONS and review.get("login"):
            latest[review["login"].lower()] = review
    author = (pull.get("author") or "").lower()
    return [{"login": r["login"], "submitted_at": r.get("submitted_at"), "commit_id": r.get("commit_id"),
             "on_head": bool(pull.get("head_sha")) and r.get("commit_id") == pull.get("head_sha")}
            for login, r in sorted(latest.items()) if r["state"] == "APPROVED" and login != author]


def _timestamp(text: object, where: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise EvidenceError(f"{where}: `ts` is not an ISO timestamp: {text!r}") from None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _deploy(record: dict, where: str) -> Deploy | None:
    if record.get("dry_run") or record.get("command") not in (None, "apply") or not record.get("git_commit"):
        return None
    failed, acted = set(), {}
    for action in record.get("actions") or []:
        target = str(action.get("target") or "")
        if target.startswith("user:"):
            uid = target[len("user:"):]
            acted.setdefault(uid, str(action.get("kind")))
            if action.get("result") != "ok":
                failed.add(uid)
    return Deploy(_timestamp(record.get("ts"), where), str(record["git_commit"]), record.get("run_id"), where,
                  frozenset(failed), acted)


def _merge_approvals(into: dict[str, dict], commits: object, where: str) -> None:
    if not isinstance(commits, dict):
        raise EvidenceError(f"{where}: `approvals` must map commit -> {{pulls: [...]}}")
    for sha, entry in commits.items():
        if isinstance(entry, dict) and ("pulls" in entry or sha not in into):
            into[sha] = entry  # a captured answer beats a captured error


def read_evidence(paths: list[Path]) -> Evidence:
    """Every *.jsonl audit record and *.json approvals file under `paths` (files or directories)."""
    evidence = Evidence()
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".jsonl", ".json"))
        elif path.exists():
            files.append(path)
        else:
            raise EvidenceError(f"{path}: no such file or directory")
    for file in files:
        with expected_io(f"cannot read {file}"):
            text = file.read_text(encoding="utf-8")
        evidence.files += 1
        if file.suffix == ".json":
            try:
                doc = json.loads(text)
            except ValueError as exc:
                raise EvidenceError(f"{file}:{getattr(exc, 'lineno', 1)}: not JSON: {exc}") from None
            if isinstance(doc, dict) and "commits" in doc:  # an approvals file (scripts/ci/fetch-approvals)
                _merge_approvals(evidence.approvals, doc["commits"], f"{file}:1")
            continue  # plan.json and other artifacts carry no evidence
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            where = f"{file}:{n}"
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise EvidenceError(f"{where}: not a JSON audit record: {exc}") from None
            if not isinstance(record, dict) or "git_commit" not in record or "ts" not in record:
                if isinstance(record, dict) and ("started" in record or "action" in record):
                    continue  # an apply journal line (.gatewayctl/apply-journal.jsonl), not a record
                raise EvidenceError(f"{where}: not an apply audit record (no `ts` and `git_commit`)")
            deploy = _deploy(record, where)
            if deploy is not None:
                evidence.deploys.append(deploy)
            if "approvals" in record:
                _merge_approvals(evidence.approvals, record["approvals"], where)
    evidence.deploys.sort(key=lambda d: d.ts)
    return evidence


def live_since(deploys: list[Deploy], user_id: str, commit: str, position: dict[str, int]) -> Deploy | None:
    """The first deploy that put the grant written by `commit` on the gateway (see the module's docstring)."""
    wrote = position.get(commit)
    if wrote is None:
        return None
    for deploy in deploys:
        at = position.get(deploy.commit)
        if at is not None and at >= wrote and user_id not in deploy.failed_users:
            return deploy
    return None


GRANT_ACTIONS = ("create", "adopt", "update", "move")


def captured_for(root: Path, plan, approvals_file: Path) -> dict[str, dict]:
    """For the audit record: the captured approvals (scripts/ci/fetch-approvals' file) of the commit that
    wrote each grant this plan creates or changes. Never raises: the gateway has already been changed, so
    what is missing is written down instead ({"error": ...} for that commit)."""
    from reconciler.history.grants import HistoryError, load_timeline

    users = sorted({a.target[len("user:"):] for a in plan.actions
                    if a.kind in GRANT_ACTIONS and a.target.startswith("user:")})
    if not users:
        return {}
    try:
        timeline = load_timeline(root)
    except HistoryError as exc:
        return {"(history)": {"error": f"cannot read the grants' commits from git: {exc}"}}
    now = dt.datetime.now(dt.UTC)
    commits = {g.commit for g in (timeline.at(uid, now) for uid in users) if g is not None}
    try:
        fetched = read_evidence([approvals_file]).approvals
    except GatewayctlError as exc:
        fetched, problem = {}, str(exc)
    else:
        problem = f"not in {approvals_file.name} (older than its APPROVALS_DEPTH commits?)"
    return {sha: fetched.get(sha) or {"error": problem} for sha in sorted(commits)}
