"""`gatewayctl access`: who could call a model (or use a tier) at a date or in a date range, from git.

A user could call model M at instant t when the grant in force for them at t (users/<id>.yaml as of
the last first-parent commit of HEAD at or before t: reconciler/history/grants.py) names a tier
whose models, in policies/tiers.yaml as of that same commit, include M, and t is not after the
grant's `expires` day (Asia/Kolkata, the day LiteLLM's key expiry ends on). Dates are whole days in
Asia/Kolkata, the budgets' timezone. Everything here is read from git, offline; the deploy evidence
(reconciler/history/evidence.py) and spend logs (reconciler/finops/spend.py) are joined on by
reconciler/history/access_cmd.py.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml

from reconciler.desired.policy import BUDGET_TZ
from reconciler.git import GitError
from reconciler.git import git as run_git
from reconciler.history.grants import Grant, Timeline
from reconciler.history.log import RS, US

TIERS_FILE = "policies/tiers.yaml"


@dataclass(frozen=True)
class Question:
    model: str | None
    tier: str | None
    first_day: dt.date
    last_day: dt.date

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first_day, dt.time(0), tzinfo=BUDGET_TZ).astimezone(dt.UTC)

    @property
    def end(self) -> dt.datetime:
        next_day = self.last_day + dt.timedelta(days=1)
        return dt.datetime.combine(next_day, dt.time(0), tzinfo=BUDGET_TZ).astimezone(dt.UTC)

    def subject(self) -> str:
        return f"model {self.model}" if self.model else f"tier {self.tier}"

    def days(self) -> str:
        if self.first_day == self.last_day:
            return f"on {self.first_day}"
        return f"from {self.first_day} to {self.last_day}"


class FirstParent:
    """The first-parent commits of HEAD (main's merges, in order) and policies/tiers.yaml at each of them."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.prefix = run_git(self.root, "rev-parse", "--show-prefix").strip()
        out = run_git(self.root, "log", "--first-parent", "--reverse", "--no-color", f"--format={RS}%H{US}%cI", "HEAD")
        self.shas: list[str] = []
        self.times: list[dt.datetime] = []
        for chunk in (c for c in out.split(RS) if c.strip()):
            sha, date = chunk.strip().split(US)
            self.shas.append(sha)
            self.times.append(dt.datetime.fromisoformat(date).astimezone(dt.UTC))
        self.position = {sha: i for i, sha in enumerate(self.shas)}
        self._tiers: dict[str, dict] = {}

    @property
    def head(self) -> str:
        return self.shas[-1] if self.shas else ""

    def at(self, instant: dt.datetime) -> str | None:
        i = bisect.bisect_right(self.times, instant) - 1
        return self.shas[i] if i >= 0 else None

    def between(self, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
        return [t for t in self.times if start < t < end]

    def tiers(self, sha: str | None) -> dict:
        """policies/tiers.yaml's `tiers` at commit `sha` ({} before it existed or if it did not parse)."""
        if sha is None:
            return {}
        if sha not in self._tiers:
            try:
                doc = yaml.safe_load(run_git(self.root, "show", f"{sha}:{self.prefix}{TIERS_FILE}"))
            except (GitError, yaml.YAMLError):
                doc = None
            tiers = doc.get("tiers") if isinstance(doc, dict) else None
            self._tiers[sha] = tiers if isinstance(tiers, dict) else {}
        return self._tiers[sha]


@dataclass
class Access:
    """One user under one grant who could call the model (or use the tier) during part of the window."""

    user_id: str
    grant: Grant
    since: dt.datetime  # in force (per git) since: the commit that wrote the grant
    tier: dict  # the tier's policy when access began in the window
    start: dt.datetime  # first instant of the window with access
    end: dt.datetime  # end of the last stretch of access in the window
    fields: dict = field(default_factory=dict)  # joined on: live, approvals, spend

    @property
    def budget_usd(self) -> Decimal | None:
        raw = self.tier.get("monthly_budget_usd")
        return None if raw is None else Decimal(str(raw))

    def exception_active(self) -> bool:
        g = self.grant
        return bool(g.exception_usd) and g.exception_until is not None and \
            g.exception_until >= self.start.astimezone(BUDGET_TZ).date()


def _allows(question: Question, grant: Grant | None, tiers: dict, instant: dt.datetime) -> bool:
    if grant is None or grant.tier is None:
        return False
    if grant.expires is not None and instant.astimezone(BUDGET_TZ).date() > grant.expires:
        return False
    if question.tier is not None:
        return grant.tier == question.tier
    spec = tiers.get(grant.tier)
    return isinstance(spec, dict) and question.model in (spec.get("models") or [])


def _expiry_ends(timeline: Timeline, start: dt.datetime, end: dt.datetime) -> set[dt.datetime]:
    """The instants inside the window at which a grant's expiry day ends."""
    out = set()
    for uid in timeline.users():
        for _, grant in timeline.changes(uid):
            if grant is not None and grant.expires is not None:
                t = dt.datetime.combine(grant.expires + dt.timedelta(days=1), dt.time(0), tzinfo=BUDGET_TZ)
                if start < t.astimezone(dt.UTC) < end:
                    out.add(t.astimezone(dt.UTC))
    return out


def who_could(question: Question, timeline: Timeline, history: FirstParent) -> list[Access]:
    """Everyone with access at some instant of the window, one entry per user and grant, by user id.
    Access is constant between the instants where a commit landed or an expiry day ended, so the window
    is cut there and each piece is judged once."""
    start, end = question.start, question.end
    cuts = sorted({start, *history.between(start, end), *_expiry_ends(timeline, start, end)})
    found: dict[tuple[str, str], Access] = {}
    for i, instant in enumerate(cuts):
        piece_end = cuts[i + 1] if i + 1 < len(cuts) else end
        tiers = history.tiers(history.at(instant))
        for uid in timeline.users():
            grant = timeline.at(uid, instant)
            if not _allows(question, grant, tiers, instant):
                continue
            key = (uid, grant.commit)
            if key in found:
                found[key].end = piece_end
            else:
                found[key] = Access(uid, grant, _since(timeline, uid, grant), dict(tiers.get(grant.tier) or {}),
                                    instant, piece_end)
    return sorted(found.values(), key=lambda a: (a.user_id, a.start))


def _since(timeline: Timeline, user_id: str, grant: Grant) -> dt.datetime:
    return next(t for t, g in timeline.changes(user_id) if g is grant)


def known_subjects(history: FirstParent, question: Question) -> tuple[set[str], set[str]]:
    """Every model alias and tier key named by policies/tiers.yaml at HEAD or during the window."""
    shas = {history.head, history.at(question.start)} | {history.at(t) for t in history.between(question.start,
                                                                                                  question.end)}
    models, tiers = set(), set()
    for sha in shas:
        for key, spec in history.tiers(sha).items():
            tiers.add(key)
            models.update((spec or {}).get("models") or [] if isinstance(spec, dict) else [])
    return models, tiers


def next_change(timeline: Timeline, access: Access) -> dt.datetime | None:
    """When this grant stopped being the one in force (changed or removed), if it has."""
    later = [t for t, _ in timeline.changes(access.user_id) if t > access.since]
    return later[0] if later else None
