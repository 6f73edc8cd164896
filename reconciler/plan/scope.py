"""Which users a change touched: the scope of `gatewayctl plan/apply --changed-since REF`.

A deploy's plan only needs the users whose files changed since the commit the last complete deploy
recorded (reconciler/apply/deploystate.py): everyone else was already converged by it. The scope is computed
with git, between REF and the working tree (uncommitted and untracked files count too, so what is
planned is what is on disk): every `users/<id>.yaml` added, modified, deleted or renamed (both ids of
a rename), by any commit since REF too: a change a failed deploy half applied and a later commit
reverted still counts.

Anything else that feeds the desired state or how it is applied makes the plan a full one, with
the reason: policies/ (tiers, models), schemas/, gateway/ (config.yaml is validated against
policies/models.yaml), reconciler/ and the package files (the code that computes the plan), and
every other path not known to be inert. Inert paths: docs/, tests/, bench/ and top-level *.md.
So is a REF git does not know, or one that is not an ancestor of HEAD (history rewritten, or a
commit from another branch): then git cannot say what changed since the gateway last converged.

`ChangedSince` is the seam a plan sees: it reads the gateway for the users in scope only (or all of
it), and as a processor and an annotation it records the scope in the plan and its review. The
nightly drift check (`gatewayctl drift`) always reads all of the gateway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from reconciler.git import GitError as HistoryError
from reconciler.git import git as _git
from reconciler.git import toplevel as _toplevel

if TYPE_CHECKING:  # the reader's types; reading the gateway loads httpx, so `live` loads in read()
    from reconciler.desired.policy import DesiredState
    from reconciler.live.state import LiveState
    from reconciler.plan import Draft, PlanReport

USERS_DIR = "users"
# Paths whose change cannot change a plan: nothing under them is read by load_desired or imported.
INERT_DIRS = ("docs/", "tests/", "bench/")
SHOWN = 3  # changed paths named in a fallback reason


@dataclass(frozen=True)
class Scope:
    """The answer for one REF: `users` (ids) when the plan can be scoped, else `full_reason`."""

    ref: str  # as given
    commit: str | None  # REF resolved to a commit, None when git does not know it
    users: frozenset[str] | None
    full_reason: str | None = None

    @property
    def scoped(self) -> bool:
        return self.users is not None

    def note(self, extra: int = 0) -> str:
        """The plan's one line about what it read. `extra`: users added for their dates (expiry, exceptions)."""
        if not self.scoped:
            return f"full plan (--changed-since {self.ref}): {self.full_reason}"
        n = len(self.users or ())
        dated = f" and {extra} with a dated grant (expiry or budget exception)" if extra else ""
        return (f"scoped to {n} user(s) changed since {(self.commit or self.ref)[:12]}{dated}; other users, and "
                "access outside git not tied to them, are not read: the nightly drift check reads everything")

    def to_json(self) -> dict:
        return {"changed_since": self.ref, "commit": self.commit,
                "users": None if self.users is None else sorted(self.users), "full_reason": self.full_reason}


def _user_id(rel: str) -> str | None:
    """The user id of a path relative to the repository root, None for any other path under users/."""
    p = PurePosixPath(rel)
    if len(p.parts) == 2 and p.suffix in (".yaml", ".yml") and not p.name.startswith("."):
        return p.stem
    return None


def _inert(rel: str) -> bool:
    if rel.startswith(INERT_DIRS):
        return True
    p = PurePosixPath(rel)
    if p.parts[0] == USERS_DIR and (p.name == "README.md" or p.name.startswith(".")) and len(p.parts) == 2:
        return True
    return len(p.parts) == 1 and p.suffix == ".md"


def changed_paths(root: Path, commit: str) -> list[str]:
    """Paths (relative to `root`) that differ between `commit` and the working tree, untracked included,
    and every path a commit between `commit` and HEAD touched (merge commits against each parent)."""
    top = _toplevel(root)
    base = Path(root).resolve().relative_to(top.resolve()).as_posix()
    prefix = "" if base == "." else base + "/"
    out: list[str] = []
    # -z: names as they are (no quoting); --no-renames is not used: a rename names both paths.
    fields = _git(top, "diff", "--name-status", "-z", "-M", commit, "--", base).split("\0")
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i]
        n = 2 if status[0] in "RC" else 1
        out += fields[i + 1:i + 1 + n]
        i += 1 + n
    out += [p for p in _git(top, "ls-files", "--others", "--exclude-standard", "-z", "--", base).split("\0") if p]
    # Every commit on the way counts, not only the two ends: a change a failed deploy half applied
    # and a later commit reverted is back to REF's text, yet the gateway may still hold it.
    out += [p for p in _git(top, "log", "--format=", "--name-only", "--no-renames", "-m", "-z",
                            f"{commit}..HEAD", "--", base).replace("\n", "\0").split("\0") if p]
    return sorted({p.removeprefix(prefix) for p in out if p.startswith(prefix)})


def changed_since(root: Path, ref: str) -> Scope:
    """The users changed since `ref`, or the reason the plan must be a full one."""
    try:
        top = _toplevel(root)
    except HistoryError as exc:
        return Scope(ref, None, None, str(exc))
    try:
        commit = _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except HistoryError:
        return Scope(ref, None, None, f"{ref!r} is not a commit in this repository")
    try:
        _git(top, "merge-base", "--is-ancestor", commit, "HEAD")
    except HistoryError:
        return Scope(ref, commit, None, f"{commit[:12]} is not an ancestor of HEAD")
    users: set[str] = set()
    other: list[str] = []
    for rel in changed_paths(root, commit):
        if _inert(rel):
            continue
        uid = _user_id(rel) if rel.startswith(USERS_DIR + "/") else None
        if uid is None:
            other.append(rel)
        else:
            users.add(uid)
    if other:
        more = f" and {len(other) - SHOWN} more" if len(other) > SHOWN else ""
        return Scope(ref, commit, None, f"{', '.join(other[:SHOWN])}{more} changed since {commit[:12]} "
                     "(not only users/)")
    return Scope(ref, commit, frozenset(users))


@dataclass(frozen=True)
class ChangedSince:
    """What a plan reads for `--changed-since REF` (everything without it): a reader, then a
    processor and an annotation over the plan made from what it read."""

    scope: Scope | None = None  # None: no --changed-since
    note: str | None = None  # the plan's one line about what it read
    users: frozenset[str] | None = None  # the ids read (also those whose file is gone); None: all
    keys_outside: int = 0  # managed keys of the users not read (one each: the deploy of REF converged them)

    @classmethod
    def of(cls, root: Path, ref: str | None, desired: DesiredState, today: dt.date,
           rotate: Iterable[str] = ()) -> ChangedSince:
        """Besides the users whose files changed, the scope holds users whose grant changes with the date
        alone (expired, or with a budget exception: the plan's date decides what they get) and users
        named by --rotate. Everyone else was converged by the deploy of REF, one managed key each: that
        count stands in for their keys in the safety limits' population."""
        if not ref:
            return cls()
        found = changed_since(root, ref)
        if not found.scoped:
            return cls(found, found.note())
        dated = {uid for uid, u in desired.users.items() if u.expired(today) or u.budget_exception is not None}
        ids = set(found.users or ()) | dated | set(rotate)
        outside = sum(1 for uid, u in desired.users.items() if uid not in ids and not u.expired(today))
        return cls(found, found.note(extra=len(dated - set(found.users or ()))), frozenset(ids), outside)

    def read(self, client, store, desired: DesiredState,
             services: tuple[str, ...] = ()) -> tuple[DesiredState, LiveState]:
        """The desired state cut to the users in scope, and the live state of exactly those users."""
        from reconciler.live import state as live_mod

        if self.users is None:
            return desired, live_mod.read_live(client, store, services=services)
        cut = replace(desired, users={uid: u for uid, u in desired.users.items() if uid in self.users})
        return cut, live_mod.read_live_scoped(client, store, self.users, services=services)

    def process(self, draft: Draft) -> None:
        draft.population += self.keys_outside
        if self.scope is not None:
            draft.inputs["changed_since"] = self.scope.commit or self.scope.ref

    def annotate(self, report: PlanReport) -> None:
        if self.scope is None:
            return
        report.scope = {**self.scope.to_json(), "note": self.note}
        if self.users is not None and report.finops is not None:
            report.finops["scoped"] = True  # cost-center totals would count only the users read
