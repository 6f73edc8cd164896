"""`gatewayctl history USER_ID`: the access history of one user, read from git.

Every commit that touched ``users/<id>.yaml`` (renames followed) becomes one event with its
date, commit, author, pull-request number and what changed in the grant: created (tier, owner,
expires), tier / owner / expiry changed, other details changed, removed (offboarded). Each
version is parsed with ``yaml.safe_load``; a version that does not parse is reported as
"unparseable" and the next one is compared with the last version that did.

The pull-request number comes from the commit subject (``... (#123)`` for squash merges,
``Merge pull request #123`` for merge commits) or, for a commit that reached the branch through
a merge, from the first merge commit on the ancestry path to HEAD that names one.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from reconciler.desired.policy import USER_ID
from reconciler.errors import EXIT_OK
from reconciler.git import GitError, is_shallow
from reconciler.git import git as _git
from reconciler.git import toplevel as _toplevel

PR_SQUASH = re.compile(r"\(#(\d+)\)\s*$")
PR_MERGE = re.compile(r"^Merge pull request #(\d+)\b")
GRANT_FIELDS = ("tier", "owner", "expires")
RS, US = "\x1e", "\x1f"
LOG_FORMAT = RS + US.join(["%H", "%aI", "%an", "%ae", "%s"])


# git cannot answer, or the question names no user: printed without a traceback.
HistoryError = GitError


@dataclasses.dataclass
class Change:
    kind: str  # created | removed | tier_changed | owner_changed | expiry_changed | details_changed | unparseable
    field: str | None = None
    old: Any = None
    new: Any = None

    def text(self) -> str:
        if self.kind == "created":
            grant = self.new or {}
            return "created: " + ", ".join(f"{k}={_show(grant.get(k))}" for k in GRANT_FIELDS)
        if self.kind == "removed":
            return f"removed (offboarded); was tier={_show((self.old or {}).get('tier'))}"
        if self.kind == "unparseable":
            return f"unparseable version: {self.new}"
        if self.kind == "details_changed":
            return f"details changed: {', '.join(self.new)}"
        return f"{self.field} changed: {_show(self.old)} -> {_show(self.new)}"


@dataclasses.dataclass
class Event:
    commit: str
    date: str
    author: str
    author_email: str
    subject: str
    path: str
    pr: int | None
    changes: list[Change]

    def as_json(self) -> dict:
        d = dataclasses.asdict(self)
        for c in d["changes"]:
            c["old"], c["new"] = _jsonable(c["old"]), _jsonable(c["new"])
        return d


def _show(value: Any) -> str:
    return "(none)" if value is None else str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _repo_paths(root: Path, user_id: str) -> tuple[Path, str]:
    if not USER_ID.match(user_id):
        raise HistoryError(f"not a valid user id: {user_id!r} (expected lowercase letters, digits, . _ -)")
    top = _toplevel(root)
    target = (Path(root).resolve() / "users" / f"{user_id}.yaml")
    try:
        rel = target.relative_to(top.resolve()).as_posix()
    except ValueError:
        raise HistoryError(f"{target} is outside the repository {top}") from None
    return top, rel


def _parse(text: str) -> tuple[dict | None, str | None]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, " ".join(str(exc).split())[:200]
    if not isinstance(doc, dict):
        return None, f"top level is {type(doc).__name__}, not a mapping"
    return doc, None


def users_at(root: Path, ref: str) -> dict[str, dict]:
    """users/*.yaml as they were at git revision `ref`, parsed, by id (unparseable files are left out)."""
    top = _toplevel(root)
    users_dir = (Path(root).resolve() / "users").relative_to(top.resolve()).as_posix()
    try:
        _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except HistoryError:
        raise HistoryError(f"no such revision {ref!r} (in CI, fetch the base branch first)") from None
    paths = [p for p in _git(top, "ls-tree", "-r", "--name-only", ref, "--", f"{users_dir}/").splitlines()
             if p.endswith(".yaml")]
    found: dict[str, dict] = {}
    for path in paths:
        doc, _ = _parse(_git(top, "show", f"{ref}:{path}"))
        if doc is not None:
            found[str(doc.get("id", Path(path).stem))] = doc
    return found


def _pr_from_subject(subject: str) -> int | None:
    m = PR_SQUASH.search(subject) or PR_MERGE.match(subject)
    return int(m.group(1)) if m else None


def _pr_via_merge(top: Path, commit: str) -> int | None:
    """The PR whose merge commit first brought `commit` into HEAD, if any."""
    try:
        out = _git(top, "log", "--ancestry-path", "--merges", "--reverse", "--format=%s", f"{commit}..HEAD")
    except HistoryError:
        return None
    for subject in out.splitlines():
        pr = _pr_from_subject(subject)
        if pr is not None:
            return pr
    return None


def _diff(before: dict, after: dict) -> list[Change]:
    changes = []
    for key, kind in (("tier", "tier_changed"), ("owner", "owner_changed"), ("expires", "expiry_changed")):
        if before.get(key) != after.get(key):
            changes.append(Change(kind, key, before.get(key), after.get(key)))
    other = sorted(k for k in set(before) | set(after)
                   if k not in GRANT_FIELDS and before.get(k) != after.get(k))
    if other:
        changes.append(Change("details_changed", None, None, other))
    return changes


def user_history(root: Path, user_id: str) -> list[Event]:
    """Events for users/<user_id>.yaml, oldest first. Raises HistoryError."""
    top, rel = _repo_paths(Path(root), user_id)
    out = _git(top, "log", "--follow", "--topo-order", "--name-status", "--no-color", "-M",
               f"--format={LOG_FORMAT}", "--", rel)
    events: list[Event] = []
    statuses: list[str] = []
    for chunk in reversed([c for c in out.split(RS) if c.strip()]):
        header, _, rest = chunk.partition("\n")
        sha, date, author, email, subject = header.split(US)
        status, path = "M", rel
        for line in rest.splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[0]:
                status, path = parts[0][0], parts[-1]
        pr = _pr_from_subject(subject)
        events.append(Event(sha, date, author, email, subject, path,
                            pr if pr is not None else _pr_via_merge(top, sha), []))
        statuses.append(status)
    if not events:
        raise HistoryError(f"user {user_id!r} has never existed: no commit touched {rel}")

    last_good: dict | None = None  # last version that parsed
    present = False
    for ev, status in zip(events, statuses, strict=True):
        if status == "D":
            ev.changes.append(Change("removed", None, last_good, None))
            present, last_good = False, None
            continue
        doc, err = _parse(_git(top, "show", f"{ev.commit}:{ev.path}"))
        if doc is None:
            ev.changes.append(Change("unparseable", None, None, err))
            present = True
            continue
        if not present or last_good is None:
            ev.changes.append(Change("created", None, None, {k: doc.get(k) for k in GRANT_FIELDS}))
        else:
            ev.changes.extend(_diff(last_good, doc))
        present, last_good = True, doc
    return events


def render_text(user_id: str, events: list[Event]) -> str:
    lines = [f"access history of {user_id} ({len(events)} commit{'s' if len(events) != 1 else ''}, oldest first)"]
    for ev in events:
        pr = f"  PR #{ev.pr}" if ev.pr is not None else "  (no PR)"
        lines.append(f"{ev.date}  {ev.commit[:12]}  {ev.author} <{ev.author_email}>{pr}")
        lines.append(f"    {ev.subject}")
        for change in ev.changes or [Change("details_changed", None, None, ["(no content change)"])]:
            lines.append(f"    - {change.text()}")
    return "\n".join(lines)


def render_json(user_id: str, events: list[Event]) -> str:
    return json.dumps({"user_id": user_id, "events": [e.as_json() for e in events]}, indent=2)


def cmd_history(args: argparse.Namespace) -> int:
    events = user_history(args.root, args.user_id)
    if is_shallow(args.root):
        print("warning: shallow clone; history may be incomplete (git fetch --unshallow)", file=sys.stderr)
    print(render_json(args.user_id, events) if args.format == "json" else render_text(args.user_id, events))
    return EXIT_OK


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("user_id", metavar="USER_ID", help="the user id, i.e. the file name under users/")
    p.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
