"""The grant in force for every user at any instant, read from git: what chargeback attributes by.

A grant (tier, cost center, owner, budget exception) is in force from the moment the commit that
wrote it landed on the branch, i.e. the committer date of each first-parent commit (a squash or
merge commit on main) that touched users/, until the next such commit changed or removed the file.
This is the same history `gatewayctl history` reads (reconciler/history/log.py), for all users at
once: one `git log` and one `git cat-file --batch`, so 10,000 users cost two git processes.
"""

from __future__ import annotations

import bisect
import datetime as dt
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

from reconciler.git import GitError as HistoryError
from reconciler.git import git as _git
from reconciler.git import is_shallow
from reconciler.history.log import RS, US

USERS_DIR = "users/"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Grant:
    tier: str | None
    cost_center: str | None
    owner: str | None
    commit: str
    exception_usd: Decimal | None = None
    exception_until: dt.date | None = None
    expires: dt.date | None = None  # the last day the grant is valid (Asia/Kolkata), None: no expiry


def _date(value: object) -> dt.date | None:
    """A YAML date (parsed or quoted) as a date; None when absent or not a date."""
    if value is None:
        return None
    try:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _grant(doc: object, commit: str) -> Grant | None:
    if not isinstance(doc, dict):
        return None
    exc = doc.get("budget_exception") if isinstance(doc.get("budget_exception"), dict) else {}
    until = _date(exc.get("until"))
    try:
        extra = Decimal(str(exc["extra_usd"])) if "extra_usd" in exc else None
    except ArithmeticError:
        until, extra = None, None
    return Grant(doc.get("tier"), doc.get("cost_center"), doc.get("owner"), commit, extra, until,
                 _date(doc.get("expires")))


class Timeline:
    """user id -> the grants it had, each with the instant it came into force (None = removed)."""

    def __init__(self) -> None:
        self._since: dict[str, list[dt.datetime]] = {}
        self._grants: dict[str, list[Grant | None]] = {}

    def add(self, user_id: str, since: dt.datetime, grant: Grant | None) -> None:
        self._since.setdefault(user_id, []).append(since)
        self._grants.setdefault(user_id, []).append(grant)

    def at(self, user_id: str | None, instant: dt.datetime) -> Grant | None:
        """The grant in force at `instant`; None before the user existed or after removal."""
        if user_id is None or user_id not in self._since:
            return None
        i = bisect.bisect_right(self._since[user_id], instant) - 1
        return self._grants[user_id][i] if i >= 0 else None

    def users(self) -> list[str]:
        return sorted(self._since)

    def changes(self, user_id: str) -> list[tuple[dt.datetime, Grant | None]]:
        """Every (instant, grant) of the user, oldest first (None: removed)."""
        return list(zip(self._since.get(user_id, []), self._grants.get(user_id, []), strict=True))

    def last_during(self, user_id: str, start: dt.datetime, end: dt.datetime) -> Grant | None:
        """The user's last grant that was in force at some instant of [start, end), or None."""
        since, grants = self._since.get(user_id, []), self._grants.get(user_id, [])
        first = max(0, bisect.bisect_right(since, start) - 1)
        for i in range(bisect.bisect_left(since, end) - 1, first - 1, -1):
            if grants[i] is not None:
                return grants[i]
        return None


def load_timeline(root: Path) -> Timeline:
    """Every version of users/*.yaml along the first-parent history of HEAD. Raises HistoryError."""
    top = Path(_git(Path(root), "rev-parse", "--show-toplevel").strip())
    if is_shallow(top):
        raise HistoryError("this is a shallow clone: attribution needs the full history of users/ "
                           "(git fetch --unshallow; fetch-depth: 0 in CI)")
    prefix = _git(Path(root), "rev-parse", "--show-prefix").strip()
    users_dir = prefix + USERS_DIR
    out = _git(top, "log", "--first-parent", "--reverse", "--no-renames", "--name-status", "--no-color",
               f"--format={RS}%H{US}%cI", "--", users_dir)
    events: list[tuple[str, dt.datetime, str, str]] = []  # (commit, since, user id, status)
    for chunk in (c for c in out.split(RS) if c.strip()):
        header, _, rest = chunk.partition("\n")
        sha, date = header.split(US)
        since = dt.datetime.fromisoformat(date).astimezone(dt.UTC)
        for line in rest.splitlines():
            parts = line.split("\t")
            if len(parts) < 2 or not parts[0]:
                continue
            path = parts[-1]
            name = path[len(users_dir):] if path.startswith(users_dir) else ""
            if "/" in name or not name.endswith((".yaml", ".yml")):
                continue
            events.append((sha, since, path, parts[0][0]))
    wanted = [f"{sha}:{path}" for sha, _, path, status in events if status != "D"]
    blobs = _cat_files(top, wanted)
    timeline = Timeline()
    for sha, since, path, status in events:
        user_id = Path(path).stem
        if status == "D":
            timeline.add(user_id, since, None)
            continue
        try:
            doc = yaml.load(blobs.get(f"{sha}:{path}", ""), Loader=_Loader)  # noqa: S506 - a safe loader
        except yaml.YAMLError:
            doc = None  # an unparseable version grants nothing attributable
        timeline.add(user_id, since, _grant(doc, sha))
    return timeline


def _cat_files(top: Path, names: list[str]) -> dict[str, str]:
    """`git cat-file --batch` for every `commit:path`, in one process."""
    if not names:
        return {}
    proc = subprocess.run(["git", "-C", str(top), "cat-file", "--batch"], input="\n".join(names).encode() + b"\n",
                          capture_output=True, check=False, timeout=600)
    if proc.returncode != 0:
        raise HistoryError(f"git cat-file failed: {proc.stderr.decode(errors='replace').strip()}")
    data, pos, out = proc.stdout, 0, {}
    for name in names:
        nl = data.index(b"\n", pos)
        header = data[pos:nl].decode()
        pos = nl + 1
        if header.endswith(" missing"):
            continue
        size = int(header.rsplit(" ", 1)[1])
        out[name] = data[pos:pos + size].decode("utf-8", errors="replace")
        pos += size + 1
    return out
