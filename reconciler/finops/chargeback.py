"""`gatewayctl report`: a period's spend per cost center (or owner, tier, user, model), from git and LiteLLM.

Spend is every row of LiteLLM's spend logs in the month (reconciler/finops/spend.py), keys that were
since rotated or revoked included: a row keeps its user and key hash after the key is gone.
Each row is attributed to the grant in force for its user at the instant of the call
(reconciler/history/grants.py), so a user who moved cost center mid-month is split at the commit that
moved them. A row whose user has no grant in git at that instant lands in an explicit
"(not in git)" group: nothing is dropped. Sums are exact decimals; each group is rounded to the
cent, and if the rounded groups do not add up to the rounded total the difference is printed.

The period is a calendar month (--month) or whole days (--from/--to, both included) in Asia/Kolkata, the
clock budgets reset on. Output: text and markdown (reconciler/finops/textreport.py), CSV (the evidence),
JSON, HTML (reconciler/finops/htmlreport.py); the S3 evidence is reconciler/finops/evidence.py.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from reconciler.desired.policy import BUDGET_TZ, Tier
from reconciler.errors import EXIT_OK, GatewayctlError, UsageError, expected_io
from reconciler.finops.money import cents
from reconciler.history.grants import Grant, Timeline, load_timeline

NOT_IN_GIT = "(not in git)"
WARN_AT = Decimal("0.80")
GROUPS = ("cost_center", "owner", "tier", "user", "model")
FORMATS = ("text", "csv", "json", "markdown", "html")


def month_range(month: str) -> tuple[dt.datetime, dt.datetime]:
    """[first instant, first instant of the next month) of YYYY-MM in the budget timezone, as UTC."""
    start = dt.datetime.strptime(month, "%Y-%m").replace(tzinfo=BUDGET_TZ)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def days_range(first: str, last: str) -> tuple[dt.datetime, dt.datetime]:
    """[first day's first instant, the instant after the last day) in the budget timezone, as UTC: both
    days are included."""
    start = dt.datetime.strptime(first, "%Y-%m-%d").replace(tzinfo=BUDGET_TZ)
    end = dt.datetime.strptime(last, "%Y-%m-%d").replace(tzinfo=BUDGET_TZ) + dt.timedelta(days=1)
    if end <= start:
        raise UsageError(f"--to {last} is before --from {first}")
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def period_of(args: argparse.Namespace) -> tuple[str, dt.datetime, dt.datetime]:
    """The period's label (YYYY-MM, or FROM_TO) and its [start, end) in UTC, from --month or --from/--to."""
    if args.month and (args.date_from or args.date_to):
        raise UsageError("give --month or --from/--to, not both")
    if args.month:
        try:
            return (args.month, *month_range(args.month))
        except ValueError:
            raise UsageError(f"--month must be YYYY-MM, not {args.month!r}") from None
    if not (args.date_from and args.date_to):
        raise UsageError("give --month YYYY-MM, or both --from and --to YYYY-MM-DD")
    try:
        return (f"{args.date_from}_{args.date_to}", *days_range(args.date_from, args.date_to))
    except UsageError:
        raise
    except ValueError:
        raise UsageError("--from and --to must be YYYY-MM-DD") from None


@dataclass
class Segment:
    """Spend of one user under one grant."""

    user_id: str
    tier: str
    cost_center: str
    owner: str
    commit: str
    model: str = ""
    spend: Decimal = Decimal(0)
    calls: int = 0


@dataclass
class Chargeback:
    month: str
    by: str
    start: dt.datetime
    end: dt.datetime
    segments: dict[tuple, Segment] = field(default_factory=dict)
    total: Decimal = Decimal(0)
    rows: int = 0
    # (day in the budget timezone, tier, cost center) -> spend: the HTML report's charts
    daily: dict[tuple[str, str, str], Decimal] = field(default_factory=dict)

    def add(self, user_id: str | None, api_key: str, grant: Grant | None, spend: Decimal, *, model: str = "",
            at: dt.datetime | None = None) -> None:
        if grant is None:
            key = (user_id or f"key {api_key[:12]}", None, model)
            seg = self.segments.get(key) or Segment(key[0], NOT_IN_GIT, NOT_IN_GIT, NOT_IN_GIT, "", model)
        else:
            key = (user_id, grant.commit, model)
            seg = self.segments.get(key) or Segment(user_id or "", grant.tier or "?", grant.cost_center or "?",
                                                    grant.owner or "?", grant.commit, model)
        self.segments[key] = seg
        seg.spend += spend
        seg.calls += 1
        self.total += spend
        self.rows += 1
        if at is not None:
            day = (at.astimezone(BUDGET_TZ).date().isoformat(), seg.tier, seg.cost_center)
            self.daily[day] = self.daily.get(day, Decimal(0)) + spend

    def group_of(self, seg: Segment) -> str:
        return {"cost_center": seg.cost_center, "owner": seg.owner, "tier": seg.tier, "user": seg.user_id,
                "model": seg.model or "?"}[self.by]

    def groups(self) -> list[dict]:
        sums: dict[str, list] = {}
        for seg in self.segments.values():
            g = sums.setdefault(self.group_of(seg), [Decimal(0), set(), 0])
            g[0] += seg.spend
            g[1].add(seg.user_id)
            g[2] += seg.calls
        return [{"group": name, "spend_usd": str(cents(v[0])), "exact_usd": str(v[0]), "users": len(v[1]),
                 "calls": v[2]} for name, v in sorted(sums.items(), key=lambda kv: (-kv[1][0], kv[0]))]


def utilisation(cb: Chargeback, timeline: Timeline, tiers: dict[str, Tier]) -> tuple[list[dict], list[dict]]:
    """Per user: month spend / (tier budget + exception) of the user's last grant in the month; per tier:
    spend attributed to the tier against its aggregate cap, budget x members (by that last grant)."""
    spend_by_user: dict[str, Decimal] = {}
    spend_by_tier: dict[str, Decimal] = {}
    for seg in cb.segments.values():
        if seg.tier == NOT_IN_GIT:
            continue
        spend_by_user[seg.user_id] = spend_by_user.get(seg.user_id, Decimal(0)) + seg.spend
        spend_by_tier[seg.tier] = spend_by_tier.get(seg.tier, Decimal(0)) + seg.spend
    users, caps, members = [], {k: Decimal(0) for k in tiers}, {k: 0 for k in tiers}
    month_first_day = cb.start.astimezone(BUDGET_TZ).date()
    for uid in timeline.users():
        grant = timeline.last_during(uid, cb.start, cb.end)
        if grant is None or grant.tier not in tiers:
            continue
        budget = tiers[grant.tier].monthly_budget_usd
        exception = bool(grant.exception_usd and grant.exception_until and grant.exception_until >= month_first_day)
        if exception:
            budget += grant.exception_usd
        caps[grant.tier] += budget
        members[grant.tier] += 1
        spent = spend_by_user.get(uid, Decimal(0))
        users.append({"user_id": uid, "tier": grant.tier, "cost_center": grant.cost_center, "owner": grant.owner,
                      "spend_usd": str(cents(spent)), "budget_usd": str(cents(budget)),
                      "exception_usd": str(grant.exception_usd) if exception else None,
                      "exception_until": grant.exception_until.isoformat() if exception else None,
                      "utilisation": float((spent / budget).quantize(Decimal("0.0001"))) if budget else None})
    users.sort(key=lambda u: (-(u["utilisation"] or 0), u["user_id"]))
    tier_rows = [{"tier": k, "spend_usd": str(cents(spend_by_tier.get(k, Decimal(0)))), "members": members[k],
                  "cap_usd": str(cents(caps[k])),
                  "share_of_cap": float((spend_by_tier.get(k, Decimal(0)) / caps[k]).quantize(Decimal("0.0001")))
                  if caps[k] else None} for k in tiers]
    return users, tier_rows


def build_report(cb: Chargeback, timeline: Timeline, tiers: dict[str, Tier], *, commit: str, calls: int) -> dict:
    groups = cb.groups()
    grouped = sum((Decimal(g["spend_usd"]) for g in groups), Decimal(0))
    users, tier_rows = utilisation(cb, timeline, tiers)
    return {
        "month": cb.month, "period": cb.month, "timezone": str(BUDGET_TZ), "from_utc": cb.start.isoformat(),
        "to_utc": cb.end.isoformat(),
        "by": cb.by, "git_commit": commit, "spend_rows": cb.rows, "gateway_calls": calls,
        "gateway_total_usd": str(cents(cb.total)), "gateway_total_exact_usd": str(cb.total),
        "groups": groups, "groups_total_usd": str(grouped),
        "difference_usd": str(grouped - cents(cb.total)),
        "users": users, "users_at_or_above_80_percent": [u for u in users if (u["utilisation"] or 0) >= WARN_AT],
        "tiers": tier_rows, "csv_rows": len(cb.segments),
        "daily": [{"day": d, "tier": t, "cost_center": c, "spend_exact_usd": str(v)}
                  for (d, t, c), v in sorted(cb.daily.items())],
    }


def segments_csv(cb: Chargeback) -> str:
    """The evidence: one line per user and grant, exact spend; any grouping adds these up."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["period", "user_id", "tier", "cost_center", "owner", "grant_commit", "model", "calls", "spend_usd"])
    for seg in sorted(cb.segments.values(), key=lambda s: (s.cost_center, s.user_id, s.commit, s.model)):
        w.writerow([cb.month, seg.user_id, seg.tier, seg.cost_center, seg.owner, seg.commit, seg.model, seg.calls,
                    seg.spend])
    return out.getvalue()


def run_report(args: argparse.Namespace) -> int:
    from reconciler.desired.validate import load_desired
    from reconciler.finops import evidence
    from reconciler.runctx import RunContext

    label, start, end = period_of(args)
    with RunContext(args) as ctx:
        timeline = load_timeline(args.root)
        tiers = load_desired(args.root, today=end.date()).tiers
        cb = Chargeback(label, args.by, start, end)
        calls = _read_spend(ctx.client, cb, timeline)
    print(f"report {label}: {cb.rows:,} spend rows, {calls:,} calls: done", file=sys.stderr)
    report = build_report(cb, timeline, tiers, commit=ctx.commit, calls=calls)
    csv_text = segments_csv(cb)
    text = render(report, args.format, csv_text)
    if args.out:
        with expected_io(f"cannot write {args.out}"):
            args.out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    if args.s3_uri:
        try:
            for uri in evidence.export_s3(args.s3_uri, report, csv_text):
                print(f"wrote {uri}", file=sys.stderr)
        except UsageError:
            raise
        except Exception as exc:
            raise GatewayctlError(f"S3 export failed: {type(exc).__name__}: {exc}") from exc
    return EXIT_OK


def render(report: dict, fmt: str, csv_text: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2)
    if fmt == "csv":
        return csv_text.rstrip("\n")
    if fmt == "html":
        from reconciler.finops.htmlreport import render_html

        return render_html(report)
    from reconciler.finops.textreport import render_text

    return render_text(report, markdown=fmt == "markdown")


def _read_spend(client, cb: Chargeback, timeline) -> int:
    """Every spend row of the period into `cb`, each attributed to the grant in force at its time; the
    number of calls it took."""
    from reconciler.finops import spend
    from reconciler.live.client import GatewayError

    show = spend.progress_printer(sys.stderr, f"report {cb.month}")
    try:
        for row in spend.spend_rows(client, cb.start, cb.end, on_page=show):
            cb.add(row.user_id, row.api_key, timeline.at(row.user_id, row.start), row.spend, model=row.model,
                   at=row.start)
    except GatewayError:
        print(file=sys.stderr)  # end the progress line
        raise
    return client.stats.total


def arguments(p: argparse.ArgumentParser) -> None:
    from reconciler import runctx

    p.add_argument("--month", metavar="YYYY-MM", help=f"a calendar month in {BUDGET_TZ.key}")
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD",
                   help=f"instead of --month: the first day of the period ({BUDGET_TZ.key}), included")
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD",
                   help="with --from: the last day of the period, included (--from D --to D is one day)")
    p.add_argument("--by", choices=GROUPS, default="cost_center", help="grouping (default cost_center)")
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="text (default), csv (one line per user, grant and model: the evidence), json, markdown, "
                        "or html (one self-contained page with charts, no network needed)")
    p.add_argument("--out", type=Path, help="write the report to this file instead of stdout")
    p.add_argument("--s3-uri", metavar="s3://BUCKET/PREFIX",
                   help="also store the period's evidence: PREFIX/<period>/chargeback-segments.csv and manifest.json "
                        "(period, commit, row count, totals, the CSV's sha256), through boto3's standard AWS "
                        "environment")
    runctx.connection_arguments(p, timeout=60.0, key="; the key is $LITELLM_MASTER_KEY: the spend-reader key "
                                                    "(docs/security.md, \"Service keys\") is enough")
