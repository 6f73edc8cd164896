"""What a change costs: the maximum monthly commitment before and after, for the PR reviewer.

The maximum monthly commitment of a cost center is the sum, over its users who hold an active key,
of their tier's monthly budget plus any budget exception active today: what the gateway would let
those users spend in a month. "Before" is read from the gateway (each managed user's tier and cost
center as last applied, the tier budgets LiteLLM enforces, exceptions on member budget rows);
"after" from users/ and policies/. Each user a plan touches is listed with budget, RPM and models
before -> after, the grant's justification and owner, and the cost center's change ("+$18.00/month
for CC-1001").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from reconciler.desired import shards
from reconciler.desired.policy import DesiredState, money
from reconciler.live.state import LiveState
from reconciler.plan.member_budget import active_exception

ZERO = Decimal("0.00")


def _signed(value: Decimal) -> str:
    return ("+" if value >= 0 else "-") + f"${abs(value):.2f}"


def _live_grants(live: LiveState, desired: DesiredState, now: dt.datetime) -> dict[str, dict]:
    out = {}
    for uid, lu in live.users.items():
        if not lu.managed or not live.managed_keys(uid):
            continue
        tier_key = lu.metadata.get("tier")
        # The user's row is in whichever team of the tier they are in; every team of a tier has its limits.
        team_id = shards.member_team(lu.teams, str(tier_key)) or shards.team_id(str(tier_key))
        team = live.teams.get(team_id)
        tier = desired.tiers.get(tier_key)
        budget = team.member_budget if team is not None and team.member_budget is not None else (
            tier.monthly_budget_usd if tier else ZERO)
        row = live.membership(team_id, uid)
        extra = row.active_increase(now) if row is not None else ZERO
        out[uid] = {"tier": tier_key, "cost_center": lu.metadata.get("cost_center") or "?",
                    "budget_usd": budget, "exception_usd": extra,
                    "rpm_limit": team.member_rpm if team is not None else None,
                    "models": list(team.models) if team is not None else []}
    return out


def _desired_grants(desired: DesiredState, today: dt.date) -> dict[str, dict]:
    out = {}
    for uid, u in desired.users.items():
        if u.expired(today) or u.tier not in desired.tiers:
            continue
        tier = desired.tiers[u.tier]
        extra = u.budget_exception.extra_usd if active_exception(u, today) else ZERO
        out[uid] = {"tier": u.tier, "cost_center": u.cost_center, "budget_usd": tier.monthly_budget_usd,
                    "exception_usd": extra, "rpm_limit": tier.rpm_limit, "models": sorted(tier.models),
                    "owner": u.owner, "justification": u.justification,
                    "exception": ({"extra_usd": money(u.budget_exception.extra_usd),
                                   "until": u.budget_exception.until.isoformat(),
                                   "ticket": u.budget_exception.ticket} if extra else None)}
    return out


def _view(g: dict | None) -> dict | None:
    if g is None:
        return None
    return {"tier": g["tier"], "budget_usd": money(g["budget_usd"]), "exception_usd": money(g["exception_usd"]),
            "rpm_limit": g["rpm_limit"], "models": g["models"]}


def summarise(desired: DesiredState, live: LiveState, touched: set[str], today: dt.date,
              now: dt.datetime) -> dict:
    before, after = _live_grants(live, desired, now), _desired_grants(desired, today)
    centers: dict[str, list[Decimal]] = {}
    for side, grants in ((0, before), (1, after)):
        for g in grants.values():
            c = centers.setdefault(g["cost_center"], [ZERO, ZERO])
            c[side] += g["budget_usd"] + g["exception_usd"]
    users = []
    for uid in sorted(touched):
        b, a = before.get(uid), after.get(uid)
        if _view(b) == _view(a) and (b or {}).get("cost_center") == (a or {}).get("cost_center"):
            continue
        delta = (a["budget_usd"] + a["exception_usd"] if a else ZERO) - (
            b["budget_usd"] + b["exception_usd"] if b else ZERO)
        users.append({"user": uid, "cost_center": (a or b)["cost_center"],
                      "cost_center_before": b["cost_center"] if b else None,
                      "owner": a["owner"] if a else None, "justification": a["justification"] if a else None,
                      "exception": a["exception"] if a else None,
                      "before": _view(b), "after": _view(a), "delta_usd_per_month": _signed(delta)})
    rows = [{"cost_center": cc, "before_usd": money(v[0]), "after_usd": money(v[1]), "delta": _signed(v[1] - v[0])}
            for cc, v in sorted(centers.items())]
    total_b = sum((v[0] for v in centers.values()), ZERO)
    total_a = sum((v[1] for v in centers.values()), ZERO)
    return {"users": users, "cost_centers": rows,
            "total": {"before_usd": money(total_b), "after_usd": money(total_a), "delta": _signed(total_a - total_b)}}


def lines(finops: dict | None) -> list[str]:
    """The commitment as text lines (shared by the text and markdown renderings)."""
    if not finops:
        return []
    out = []
    for u in finops["users"]:
        b, a = u["before"], u["after"]

        def show(g):
            if g is None:
                return "(none)"
            text = f"{g['tier']} ${g['budget_usd']}/month, {g['rpm_limit']} RPM, [{', '.join(g['models'])}]"
            return text + (f" + ${g['exception_usd']} exception" if g["exception_usd"] != "0.00" else "")

        line = f"{u['user']} ({u['cost_center']}): {show(b)} -> {show(a)} ({u['delta_usd_per_month']}/month)"
        if u["owner"]:
            line += f"; approved by {u['owner']}: {u['justification']}"
        if u["exception"]:
            e = u["exception"]
            line += f"; exception +${e['extra_usd']} until {e['until']} ({e['ticket']})"
        out.append(line)
    # A scoped plan (reconciler/plan/scope.py) read only some users: its sums are changes, not totals.
    scoped = finops.get("scoped")
    for c in finops["cost_centers"]:
        if c["delta"] not in ("+$0.00", "-$0.00"):
            out.append(f"{c['delta']}/month for {c['cost_center']}" + ("" if scoped else
                       f" (max commitment ${c['before_usd']} -> ${c['after_usd']})"))
    t = finops["total"]
    out.append(f"max monthly commitment: {t['delta']}/month for the users read (a full plan shows the totals)"
               if scoped else
               f"total max monthly commitment: ${t['before_usd']} -> ${t['after_usd']} ({t['delta']}/month)")
    return out
