"""`gatewayctl report`: the month's spend per cost center (or owner, tier, user), from git and LiteLLM.

Spend is every row of LiteLLM's spend logs in the month (reconciler/finops/spend.py), keys that were
since rotated or revoked included: a row keeps its user and key hash after the key is gone.
Each row is attributed to the grant in force for its user at the instant of the call
(reconciler/history/grants.py), so a user who moved cost center mid-month is split at the commit that
moved them. A row whose user has no grant in git at that instant lands in an explicit
"(not in git)" group: nothing is dropped. Sums are exact decimals; each group is rounded to the
cent, and if the rounded groups do not add up to the rounded total the difference is printed.

The month is a calendar month in Asia/Kolkata, the clock budgets reset on.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import os
import sys
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from reconciler.desired.policy import BUDGET_TZ, Tier
from reconciler.errors import EXIT_OK, GatewayctlError, UsageError, expected_io
from reconciler.history.grants import Grant, Timeline, load_timeline

CENT = Decimal("0.01")
NOT_IN_GIT = "(not in git)"
WARN_AT = Decimal("0.80")
GROUPS = ("cost_center", "owner", "tier", "user")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def month_range(month: str) -> tuple[dt.datetime, dt.datetime]:
    """[first instant, first instant of the next month) of YYYY-MM in the budget timezone, as UTC."""
    start = dt.datetime.strptime(month, "%Y-%m").replace(tzinfo=BUDGET_TZ)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


@dataclass
class Segment:
    """Spend of one user under one grant."""

    user_id: str
    tier: str
    cost_center: str
    owner: str
    commit: str
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

    def add(self, user_id: str | None, api_key: str, grant: Grant | None, spend: Decimal) -> None:
        if grant is None:
            key = (user_id or f"key {api_key[:12]}", None)
            seg = self.segments.get(key) or Segment(key[0], NOT_IN_GIT, NOT_IN_GIT, NOT_IN_GIT, "")
        else:
            key = (user_id, grant.commit)
            seg = self.segments.get(key) or Segment(user_id or "", grant.tier or "?", grant.cost_center or "?",
                                                    grant.owner or "?", grant.commit)
        self.segments[key] = seg
        seg.spend += spend
        seg.calls += 1
        self.total += spend
        self.rows += 1

    def group_of(self, seg: Segment) -> str:
        return {"cost_center": seg.cost_center, "owner": seg.owner, "tier": seg.tier, "user": seg.user_id}[self.by]

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
        if grant.exception_usd and grant.exception_until and grant.exception_until >= month_first_day:
            budget += grant.exception_usd
        caps[grant.tier] += budget
        members[grant.tier] += 1
        spent = spend_by_user.get(uid, Decimal(0))
        users.append({"user_id": uid, "tier": grant.tier, "cost_center": grant.cost_center, "owner": grant.owner,
                      "spend_usd": str(cents(spent)), "budget_usd": str(cents(budget)),
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
        "month": cb.month, "timezone": str(BUDGET_TZ), "from_utc": cb.start.isoformat(), "to_utc": cb.end.isoformat(),
        "by": cb.by, "git_commit": commit, "spend_rows": cb.rows, "gateway_calls": calls,
        "gateway_total_usd": str(cents(cb.total)), "gateway_total_exact_usd": str(cb.total),
        "groups": groups, "groups_total_usd": str(grouped),
        "difference_usd": str(grouped - cents(cb.total)),
        "users": users, "users_at_or_above_80_percent": [u for u in users if (u["utilisation"] or 0) >= WARN_AT],
        "tiers": tier_rows,
    }


def segments_csv(cb: Chargeback) -> str:
    """The evidence: one line per user and grant, exact spend; any grouping adds these up."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["month", "user_id", "tier", "cost_center", "owner", "grant_commit", "calls", "spend_usd"])
    for seg in sorted(cb.segments.values(), key=lambda s: (s.cost_center, s.user_id, s.commit)):
        w.writerow([cb.month, seg.user_id, seg.tier, seg.cost_center, seg.owner, seg.commit, seg.calls, seg.spend])
    return out.getvalue()


def render(report: dict, fmt: str, csv_text: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2)
    if fmt == "csv":
        return csv_text.rstrip("\n")
    by = report["by"].replace("_", " ")
    diff = Decimal(report["difference_usd"])
    pct = lambda v: "-" if v is None else f"{v:.0%}"  # noqa: E731
    if fmt == "markdown":
        lines = [f"### Chargeback {report['month']} by {by} ({report['timezone']})", "",
                 f"| {by} | spend | users | calls |", "|---|---:|---:|---:|"]
        lines += [f"| {g['group']} | ${g['spend_usd']} | {g['users']} | {g['calls']} |" for g in report["groups"]]
        lines += [f"| **total** | **${report['groups_total_usd']}** | | |", "",
                  f"Gateway total ${report['gateway_total_usd']} from {report['spend_rows']:,} spend-log rows; "
                  f"difference ${report['difference_usd']} (rounding of groups to the cent).", "",
                  "| tier | spend | members | aggregate cap | used |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {t['tier']} | ${t['spend_usd']} | {t['members']} | ${t['cap_usd']} | {pct(t['share_of_cap'])} |"
                  for t in report["tiers"]]
        hot = report["users_at_or_above_80_percent"]
        lines += ["", f"**Users at or above 80% of their budget: {len(hot)}**"]
        lines += [f"- {u['user_id']} ({u['tier']}, {u['cost_center']}, owner {u['owner']}): ${u['spend_usd']} of "
                  f"${u['budget_usd']} ({pct(u['utilisation'])})" for u in hot]
        return "\n".join(lines)
    width = max([len(by)] + [len(g["group"]) for g in report["groups"]])
    lines = [f"Chargeback {report['month']} ({report['timezone']}), by {by}:",
             f"  {by:<{width}}  {'spend':>12}  {'users':>5}  {'calls':>7}"]
    lines += [f"  {g['group']:<{width}}  {'$' + g['spend_usd']:>12}  {g['users']:>5}  {g['calls']:>7}"
              for g in report["groups"]]
    lines += [f"  {'total':<{width}}  {'$' + report['groups_total_usd']:>12}",
              f"gateway total ${report['gateway_total_usd']} ({report['spend_rows']:,} spend-log rows); "
              f"difference ${report['difference_usd']}" + ("" if diff == 0 else " (rounding of groups to the cent)"),
              "tiers (spend against budget x members at month end):"]
    lines += [f"  {t['tier']:<10} ${t['spend_usd']:>10} of ${t['cap_usd']:>10} ({pct(t['share_of_cap'])}, "
              f"{t['members']} members)" for t in report["tiers"]]
    hot = report["users_at_or_above_80_percent"]
    lines.append(f"users at or above 80% of their budget: {len(hot)}")
    lines += [f"  {u['user_id']:<20} {u['tier']:<10} {u['cost_center']:<10} ${u['spend_usd']} of ${u['budget_usd']} "
              f"({pct(u['utilisation'])})" for u in hot]
    return "\n".join(lines)


def export_s3(uri: str, report: dict, csv_text: str) -> list[str]:
    """Write <prefix>/<month>/chargeback-by-<by>.csv and its manifest (with the commit and the CSV's
    sha256) through boto3's standard environment. Returns the object URIs."""
    import boto3

    if not uri.startswith("s3://"):
        raise UsageError(f"--s3-uri must look like s3://bucket/prefix, not {uri!r}")
    bucket, _, prefix = uri[5:].partition("/")
    base = "/".join(p for p in (prefix.strip("/"), report["month"]) if p)
    body = csv_text.encode()
    csv_key = f"{base}/chargeback-segments.csv"
    manifest = {k: report[k] for k in ("month", "timezone", "from_utc", "to_utc", "git_commit", "spend_rows",
                                       "gateway_total_usd", "gateway_total_exact_usd")}
    manifest.update({"csv": f"s3://{bucket}/{csv_key}", "csv_sha256": hashlib.sha256(body).hexdigest(),
                     "csv_bytes": len(body), "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                     "generated_by": os.environ.get("GITHUB_ACTOR") or os.environ.get("USER") or "unknown",
                     "run_id": os.environ.get("GITHUB_RUN_ID"), "source": "LiteLLM /spend/logs/v2 + git history"})
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=csv_key, Body=body, ContentType="text/csv")
    man_key = f"{base}/manifest.json"
    s3.put_object(Bucket=bucket, Key=man_key, Body=json.dumps(manifest, indent=2).encode(),
                  ContentType="application/json")
    return [f"s3://{bucket}/{csv_key}", f"s3://{bucket}/{man_key}"]


def run_report(args: argparse.Namespace) -> int:
    from reconciler.desired.validate import load_desired
    from reconciler.runctx import RunContext

    try:
        start, end = month_range(args.month)
    except ValueError:
        raise UsageError(f"--month must be YYYY-MM, not {args.month!r}") from None
    with RunContext(args) as ctx:
        timeline = load_timeline(args.root)
        tiers = load_desired(args.root, today=end.date()).tiers
        cb = Chargeback(args.month, args.by, start, end)
        calls = _read_spend(ctx.client, cb, timeline)
    print(f"report {args.month}: {cb.rows:,} spend rows, {calls:,} calls: done", file=sys.stderr)
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
            for uri in export_s3(args.s3_uri, report, csv_text):
                print(f"wrote {uri}", file=sys.stderr)
        except Exception as exc:
            raise GatewayctlError(f"S3 export failed: {type(exc).__name__}: {exc}") from exc
    return EXIT_OK


def _read_spend(client, cb: Chargeback, timeline) -> int:
    """Every spend row of the month into `cb`, each attributed to the grant in force at its time; the
    number of calls it took."""
    from reconciler.finops import spend
    from reconciler.live.client import GatewayError

    show = spend.progress_printer(sys.stderr, f"report {cb.month}")
    try:
        for row in spend.spend_rows(client, cb.start, cb.end, on_page=show):
            cb.add(row.user_id, row.api_key, timeline.at(row.user_id, row.start), row.spend)
    except GatewayError:
        print(file=sys.stderr)  # end the progress line
        raise
    return client.stats.total


def arguments(p: argparse.ArgumentParser) -> None:
    from reconciler import runctx

    p.add_argument("--month", required=True, metavar="YYYY-MM", help=f"calendar month in {BUDGET_TZ.key}")
    p.add_argument("--by", choices=GROUPS, default="cost_center", help="grouping (default cost_center)")
    p.add_argument("--format", choices=("text", "csv", "json", "markdown"), default="text",
                   help="text (default), csv (one line per user and grant: the evidence), json or markdown")
    p.add_argument("--out", type=Path, help="write the report to this file instead of stdout")
    p.add_argument("--s3-uri", metavar="s3://BUCKET/PREFIX",
                   help="also store the month's evidence: PREFIX/YYYY-MM/chargeback-segments.csv and manifest.json "
                        "(commit, totals, the CSV's sha256), through boto3's standard AWS environment")
    runctx.connection_arguments(p, timeout=60.0, key="; the key is $LITELLM_MASTER_KEY (a key that may read "
                                                    "/spend/logs/v2; the plan-viewer key may not)")
