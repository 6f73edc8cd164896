"""Per-member budget rows: time-boxed budget exceptions, spend carried over a tier move, and drift.

A tier is a LiteLLM team whose members all point at one shared default budget row (the tier's
budget, RPM and monthly window). A member gets a row of its own only for a reason in git:

- **a budget exception** (`budget_exception` in users/<id>.yaml): LiteLLM 1.108.7's per-member
  `temp_budget_increase` + `temp_budget_expiry` (POST /team/member_update). LiteLLM adds the
  increase only while now < expiry, so the exception ends at the end of `until` (Asia/Kolkata)
  by itself, whether or not gatewayctl runs again;
- **spend carried over a tier move**: a new membership starts the month at $0, so a move would
  hand out a fresh budget. The member's new row gets max_budget = tier budget - spend already
  made this budget window; the carry is recorded in the user's metadata and dropped (back to the
  tier's default row) once that window has reset.

The row is always written as a full clone of the tier's row (budget, RPM and the `1mo` window,
which LiteLLM copies from the default when a permanent field is in the patch). A patch of only
the temporary pair would create a row without `budget_duration`, and LiteLLM's monthly reset
only zeroes memberships linked to a row that has one: the member's spend would never reset.

Any other per-member row is drift (for example a /team/member_update made outside git): plan
shows it and apply puts the member back on the tier's row (/team/{team}/member/{user}/reset_budget).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from reconciler.desired.policy import BUDGET_DURATION, BUDGET_TZ, Tier, User, end_of_day_utc, money
from reconciler.live.state import LiveMembership, LiveState, LiveUser
from reconciler.plan.steps import Op

CARRY_KEY = "budget_carry"  # user metadata: {"team_id", "usd", "until"}
ZERO = Decimal("0.00")


def window_end_utc(now: dt.datetime) -> str:
    """When the current monthly budget window resets: midnight on the next 1st, budget timezone."""
    local = now.astimezone(BUDGET_TZ)
    first_next = (local.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    end = dt.datetime.combine(first_next.date(), dt.time(0, 0), tzinfo=BUDGET_TZ)
    return end.astimezone(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Carry:
    team_id: str
    usd: Decimal
    until: str  # ISO 8601 UTC: the reset that ends it

    def valid(self, team_id: str, now: dt.datetime) -> bool:
        return self.team_id == team_id and now < dt.datetime.fromisoformat(self.until)

    def as_metadata(self) -> dict:
        return {"team_id": self.team_id, "usd": money(self.usd), "until": self.until}


def live_carry(lu: LiveUser | None) -> Carry | None:
    raw = (lu.metadata.get(CARRY_KEY) if lu is not None else None) or None
    if not isinstance(raw, dict):
        return None
    try:
        return Carry(str(raw["team_id"]), Decimal(str(raw["usd"])), str(raw["until"]))
    except (KeyError, ArithmeticError, ValueError):
        return None


def carry_for_move(lu: LiveUser, old_team_ids: list[str], new_team_id: str, live: LiveState,
                   now: dt.datetime) -> Carry | None:
    """What a move must carry: the spend of the memberships being left, this window, plus what
    was already carried into them (a second move in the same month keeps the whole month)."""
    total = ZERO
    previous = live_carry(lu)
    for team_id in old_team_ids:
        m = live.membership(team_id, lu.user_id)
        if m is not None:
            total += m.spend
        if previous is not None and previous.valid(team_id, now):
            total += previous.usd
    total = total.quantize(Decimal("0.01"))
    return Carry(new_team_id, total, window_end_utc(now)) if total > 0 else None


def active_exception(user: User, today: dt.date) -> bool:
    return user.budget_exception is not None and user.budget_exception.until >= today


def desired_row(user: User, tier: Tier, carry: Carry | None, today: dt.date) -> dict:
    """The member row the grant needs, in LiveMembership.limits() form; {} = the tier's default row."""
    exception = user.budget_exception if active_exception(user, today) else None
    if exception is None and carry is None:
        return {}
    budget = tier.monthly_budget_usd - (carry.usd if carry else ZERO)
    return {"max_budget": money(max(budget, ZERO)), "rpm_limit": tier.rpm_limit,
            "temp_budget_increase": money(exception.extra_usd) if exception else None,
            "temp_budget_expiry": end_of_day_utc(exception.until) if exception else None}


def steps_for(user_id: str, team_id: str, want: dict, have: LiveMembership | None):
    """(op, args) pairs that turn the live member row into `want`, and the plan's change lines."""
    have_limits = have.limits() if have is not None else {}
    if have_limits == want:
        return [], []
    changes = [("member budget", _describe(have_limits), _describe(want))]
    if not want:
        return [(Op.MEMBER_BUDGET_RESET, {"team_id": team_id, "user_id": user_id})], changes
    ops = []
    if have is not None and have.custom and have.budget_duration != BUDGET_DURATION:
        # A row without the monthly window would never reset: replace it, don't patch it.
        ops.append((Op.MEMBER_BUDGET_RESET, {"team_id": team_id, "user_id": user_id}))
    ops.append((Op.MEMBER_BUDGET_SET, {
        "team_id": team_id, "user_id": user_id, "max_budget_in_team": float(Decimal(want["max_budget"])),
        "rpm_limit": want["rpm_limit"],
        "temp_budget_increase": (float(Decimal(want["temp_budget_increase"]))
                                 if want["temp_budget_increase"] is not None else None),
        "temp_budget_expiry": want["temp_budget_expiry"]}))
    return ops, changes


def _describe(limits: dict) -> str:
    if not limits:
        return "tier default"
    text = f"${limits['max_budget']}/month, {limits['rpm_limit']} RPM"
    if limits.get("temp_budget_increase") is not None:
        text += f" + ${limits['temp_budget_increase']} until {limits['temp_budget_expiry']}"
    return text
