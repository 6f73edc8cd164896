"""Budget alerts: tell a member, with their owner in copy, when their month's spend crosses one of
their tier's `alerts` thresholds (policies/tiers.yaml), before LiteLLM starts refusing their calls.

Why not LiteLLM's own alerts: 1.108.7 does deliver `team_member_max_budget_alert_emails` (team
metadata) without a licence, once `alerting: ["email"]` and SMTP settings are given to the proxy,
but its recipients are one fixed list per team (a member's `owner` cannot be named), and it
deduplicates in each process's memory for 24 hours (EMAIL_BUDGET_ALERT_TTL), not per budget
period: the same threshold is sent again every day, by every worker and task, and after every
restart (measured: docs/architecture.md "Budget alerts before the 422", tests/test_budget_alerts_e2e.py).

What a member has used is read from LiteLLM, and measured against the budget LiteLLM enforces, so
100% is exactly where the 422 starts:
- spent: the member's spend in their tier team this budget window, plus spend carried over a tier
  move made this window (reconciler/plan/member_budget.py), so the share is of the whole month;
- budget: the member's own budget row (the tier's budget minus the carried spend, plus a
  temporary increase until its expiry: a budget exception) or else the tier's row, plus the carry.
The period is the budget window that spend counts in, named by its month in Asia/Kolkata and
read from the row's `budget_reset_at`. It therefore changes when LiteLLM really resets the spend,
not when a clock says the month is over: a reset that runs late cannot make last month's spend
look like this month's and send every alert again. A window whose end has passed but that LiteLLM
has not reset yet is skipped.

Delivery is reconciler/notifications/notify.py's: the ledger (a tag on the user's key secret) holds, under topic
"budget", "<YYYY-MM>:<highest threshold announced>", so each threshold is announced once per
period, whatever the number of runs, and a failed send is sent by the next run. One tag per user,
however many months pass (Secrets Manager allows 50 tags per secret). Thresholds crossed between
two runs are announced together, in one message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from reconciler.desired import shards
from reconciler.desired.policy import BUDGET_TZ, DesiredState, Tier, User
from reconciler.live.state import LiveState
from reconciler.notifications import notify
from reconciler.plan import member_budget

TOPIC = "budget"
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


# ---------------------------------------------------------------- plain data: what is due


def crossed(thresholds: tuple[int, ...], spent: Decimal, budget: Decimal) -> list[int]:
    """The thresholds (percent) that `spent` has reached, exactly (no rounding)."""
    if budget <= 0:
        return []
    return [t for t in thresholds if spent * 100 >= budget * t]


def announced(last_event: str | None, period: str) -> int:
    """The highest threshold the ledger says was announced in `period` (0: none)."""
    if not last_event:
        return 0
    recorded_period, _, threshold = last_event.rpartition(":")
    if recorded_period != period:
        return 0
    try:
        return int(threshold)
    except ValueError:
        return 0


def due(thresholds: tuple[int, ...], spent: Decimal, budget: Decimal, period: str,
        last_event: str | None) -> list[int]:
    """Thresholds reached and not yet announced this period, lowest first."""
    done = announced(last_event, period)
    return [t for t in crossed(thresholds, spent, budget) if t > done]


def event_id(period: str, thresholds: list[int]) -> str:
    return f"{period}:{max(thresholds)}"


def period_of(reset_at: str | None, now: dt.datetime) -> tuple[str, dt.datetime, bool]:
    """(YYYY-MM of the budget window the spend counts in, when it resets, whether it ended
    without LiteLLM having reset it yet). Without a reset time: the calendar month of `now`."""
    if reset_at:
        end = dt.datetime.fromisoformat(reset_at)
        if end.tzinfo is None:
            end = end.replace(tzinfo=dt.UTC)
        return (end - dt.timedelta(seconds=1)).astimezone(BUDGET_TZ).strftime("%Y-%m"), end, end <= now
    local = now.astimezone(BUDGET_TZ)
    end = dt.datetime.fromisoformat(member_budget.window_end_utc(now))
    return local.strftime("%Y-%m"), end, False


@dataclass(frozen=True)
class Usage:
    """A member's month as LiteLLM counts it. Money is exact; `spent` and `budget` include
    spend carried over a tier move."""

    user_id: str
    tier: str
    spent: Decimal
    budget: Decimal
    period: str
    resets_at: dt.datetime
    window_over: bool  # the window ended and LiteLLM has not reset it yet
    increase: Decimal = ZERO  # an active temporary increase (budget exception), part of `budget`
    increase_until: str | None = None

    @property
    def percent(self) -> int:
        """Whole percent, rounded down (79.99% is not 80%)."""
        if self.budget <= 0:
            return 100 if self.spent > 0 else 0
        return int((self.spent * 100 / self.budget).to_integral_value(ROUND_DOWN))


def usage_of(user: User, tier: Tier, live: LiveState, now: dt.datetime) -> Usage | None:
    """The member's month in their tier team, or None when they are not (yet) a member."""
    lu = live.users.get(user.id)
    team_id = tier.team_for(user.id)
    if live.membership(team_id, user.id) is None and lu is not None:
        # Not yet moved to their team after the tier's `teams` changed: the team of the tier they are in.
        team_id = shards.member_team(lu.teams, tier.key) or team_id
    team = live.teams.get(team_id)
    row = live.membership(team_id, user.id)
    if team is None or row is None:
        return None
    carry = member_budget.live_carry(lu)
    carried = carry.usd if (carry is not None and row.custom and carry.valid(team_id, now)) else ZERO
    increase = row.active_increase(now)
    if row.custom and row.max_budget is not None:
        limit, reset_at = row.max_budget, row.budget_reset_at or team.member_budget_reset_at
    else:  # the tier's row (LiteLLM adds a member's temporary increase to it too)
        limit, reset_at = team.member_budget, team.member_budget_reset_at
    if limit is None:
        return None  # no budget, nothing to warn about
    period, resets_at, over = period_of(reset_at, now)
    return Usage(user.id, tier.key, (row.spend + carried).quantize(Decimal("0.000001")), limit + increase + carried,
                 period, resets_at, over, increase, row.temp_budget_expiry if increase else None)


def git_budget(user: User, tier: Tier, today: dt.date) -> Decimal:
    """The month's budget users/ and policies/ grant: the tier's plus an active exception."""
    extra = user.budget_exception.extra_usd if member_budget.active_exception(user, today) else ZERO
    return tier.monthly_budget_usd + extra


# ---------------------------------------------------------------- messages


def _month_name(period: str) -> str:
    return dt.date.fromisoformat(period + "-01").strftime("%B %Y")


def _money(value: Decimal) -> str:
    return f"${value.quantize(CENT, ROUND_DOWN):,.2f}"


def message(user: User, tier: Tier, usage: Usage, thresholds: list[int]) -> notify.Message:
    top = max(thresholds)
    month = _month_name(usage.period)
    resets = usage.resets_at.astimezone(BUDGET_TZ)
    when = f"00:00 Asia/Kolkata on {resets.day} {resets.strftime('%B %Y')}"
    if top >= 100:
        subject = f"LLM gateway: your {month} budget is used up"
    else:
        subject = f"LLM gateway: {top}% of your {month} budget used"
    lines = [f"Hello {user.name},", ""]
    budget = f"{_money(usage.budget)} budget for {month}"
    if usage.increase:
        until = dt.datetime.fromisoformat(str(usage.increase_until)).astimezone(BUDGET_TZ).date()
        budget += f" (the {tier.display_name} tier's {_money(usage.budget - usage.increase)} plus a temporary " \
                  f"{_money(usage.increase)} until {until})"
    else:
        budget += f" (tier {tier.display_name})"
    lines.append(f"You have used {_money(usage.spent)} of your {budget} on the LLM gateway: {usage.percent}%.")
    if len(thresholds) > 1:
        lines.append(f"That passes the {', '.join(f'{t}%' for t in thresholds[:-1])} and {top}% alerts since the "
                     "last check.")
    lines.append("")
    if top >= 100:
        lines.append(f"The gateway now refuses your calls (HTTP 422, budget_exceeded) until your budget resets at "
                     f"{when}.")
    else:
        lines.append(f"At 100% the gateway refuses your calls (HTTP 422, budget_exceeded) until your budget resets at "
                     f"{when}.")
    lines += ["", f"If you need more before then, your owner ({user.owner}) can approve a time-boxed budget exception "
              f"or a tier change in a pull request on users/{user.id}.yaml (runbook: \"A user hit their budget\")."]
    from reconciler.notifications.notices import FOOTER

    body = "\n".join(lines) + FOOTER
    return notify.Message(user.id, TOPIC, event_id(usage.period, thresholds), (user.email,), (user.owner,),
                          subject, body)


# ---------------------------------------------------------------- the run


@dataclass
class Finding:
    usage: Usage
    crossed: list[int]
    announced: int
    due: list[int]
    state: str  # "send" | "sent" | "window over" | "no ledger"

    def to_json(self) -> dict:
        u = self.usage
        return {"user_id": u.user_id, "tier": u.tier, "period": u.period, "spent_usd": str(u.spent),
                "budget_usd": str(u.budget), "percent": u.percent, "crossed": self.crossed,
                "announced": self.announced, "due": self.due, "state": self.state,
                "resets_at": u.resets_at.isoformat(timespec="seconds")}


@dataclass
class Alerts:
    findings: list[Finding] = field(default_factory=list)
    messages: list[notify.Message] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def work_out(desired: DesiredState, live: LiveState, ledger: notify.Ledger, *, now: dt.datetime,
             today: dt.date) -> Alerts:
    """Every member at or past a threshold of their tier, and the messages still owed."""
    out = Alerts()
    has_subject = getattr(ledger, "has_subject", lambda _uid: True)
    for uid in sorted(desired.users):
        user = desired.users[uid]
        tier = desired.tiers.get(user.tier)
        if tier is None or not tier.alerts or user.expired(today):
            continue
        usage = usage_of(user, tier, live, now)
        if usage is None:
            continue
        granted = git_budget(user, tier, today)
        if usage.budget != granted:
            out.warnings.append(f"{uid}: LiteLLM enforces a budget of {_money(usage.budget)} this month, users/ and "
                                f"policies/ grant {_money(granted)} (drift, or an apply still to run); alerts "
                                "follow what LiteLLM enforces")
        reached = crossed(tier.alerts, usage.spent, usage.budget)
        if not reached:
            continue
        last = ledger.last(uid, TOPIC)
        owed = due(tier.alerts, usage.spent, usage.budget, usage.period, last)
        finding = Finding(usage, reached, announced(last, usage.period), owed, "sent" if not owed else "send")
        if usage.window_over:
            finding.state = "window over"  # the last window's spend, about to be reset: no late alert
        elif owed and not has_subject(uid):
            finding.state = "no ledger"
            out.warnings.append(f"{uid}: no key secret to record the alert on; not sent (the user never got a key?)")
        elif owed:
            out.messages.append(message(user, tier, usage, owed))
        out.findings.append(finding)
    return out


def render_text(alerts: Alerts, outcome: notify.Outcome | None) -> str:
    lines = []
    for f in alerts.findings:
        u = f.usage
        head = f"{u.user_id} ({u.tier}): {_money(u.spent)} of {_money(u.budget)} ({u.percent}%) in {u.period}"
        if f.state == "send":
            what = f"alert {', '.join(f'{t}%' for t in f.due)} due"
        elif f.state == "sent":
            what = f"{', '.join(f'{t}%' for t in f.crossed)} already announced"
        elif f.state == "window over":
            what = (f"window ended {u.resets_at.astimezone(BUDGET_TZ):%Y-%m-%d %H:%M} Asia/Kolkata and LiteLLM has not "
                    "reset it yet: nothing sent")
        else:
            what = "not sent: no ledger"
        lines.append(f"  {head}: {what}")
    lines.insert(0, f"Budget alerts: {len(alerts.findings)} member(s) at or past a threshold, "
                    f"{len(alerts.messages)} message(s) due")
    for w in alerts.warnings:
        lines.append(f"! {w}")
    if outcome is not None:
        lines.append(f"notifications via {outcome.channel}: {len(outcome.sent)} sent, {outcome.skipped} already sent, "
                     f"{len(outcome.failed)} failed")
        lines += [f"! not delivered, retried next run: {line}" for line in outcome.failed]
    return "\n".join(lines)
