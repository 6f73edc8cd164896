"""`gatewayctl access` as text (for a person), CSV (one line per user and grant: the evidence) or JSON."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from reconciler.desired.policy import BUDGET_TZ

CSV_COLUMNS = ("user_id", "tier", "budget_usd", "expires", "exception_usd", "exception_until", "grant_commit",
               "grant_since", "access_from", "access_to", "live", "live_since", "deploy_run", "deploy_record",
               "pull_requests", "approved_by", "approvals", "spend_usd", "calls", "spend_note")


def _iso(t) -> str:
    return t.isoformat(timespec="seconds").replace("+00:00", "Z")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.quantize(Decimal('0.01'))}"


def as_dict(row) -> dict:
    g = row.grant
    spend = row.fields["spend"]
    return {
        "user_id": row.user_id, "tier": g.tier, "budget_usd": _money(row.budget_usd),
        "expires": g.expires.isoformat() if g.expires else None,
        "budget_exception": ({"extra_usd": _money(g.exception_usd), "until": g.exception_until.isoformat(),
                              "active": row.exception_active()} if g.exception_usd and g.exception_until else None),
        "owner": g.owner, "cost_center": g.cost_center,
        "grant_commit": g.commit, "grant_since": _iso(row.since),
        "access_from": _iso(row.start), "access_to": _iso(row.end),
        "live": row.fields["live"], "approvals": row.fields["approvals"],
        "spend": {"usd": _money(spend.get("usd")), "calls": spend.get("calls"), "note": spend.get("note")},
    }


def _approved_by(approvals: dict) -> str:
    if approvals["status"] != "captured":
        return ""
    return " ".join(f"{a['login']}" + ("" if a["on_head"] else "(earlier-push)")
                    for p in approvals["pulls"] for a in p["approved_by"]) or "(none)"


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        live, appr, exc = r["live"], r["approvals"], r["budget_exception"] or {}
        w.writerow([r["user_id"], r["tier"], r["budget_usd"], r["expires"], exc.get("extra_usd"), exc.get("until"),
                    r["grant_commit"], r["grant_since"], r["access_from"], r["access_to"], live["status"],
                    live.get("since"), live.get("run_id"), live.get("record"),
                    " ".join(f"#{p['number']}" for p in appr.get("pulls", [])), _approved_by(appr),
                    appr.get("note") or appr["status"], r["spend"]["usd"], r["spend"]["calls"], r["spend"]["note"]])
    return out.getvalue().rstrip("\n")


def _grant_line(r: dict) -> str:
    text = f"tier {r['tier']}, budget ${r['budget_usd']}/month, expires {r['expires'] or 'never'}"
    exc = r["budget_exception"]
    if exc:
        text += f", exception +${exc['extra_usd']} until {exc['until']}" + ("" if exc["active"] else " (ended)")
    return text + f"; owner {r['owner']}, cost center {r['cost_center']}"


def _approval_line(appr: dict) -> str:
    if appr["status"] != "captured":
        return f"{appr['status']}: {appr['note']}"
    parts = []
    for p in appr["pulls"]:
        who = ", ".join(f"{a['login']} at {a['submitted_at']}" + ("" if a["on_head"] else " (of an earlier push)")
                        for a in p["approved_by"]) or "NO APPROVAL by anyone but the author"
        parts.append(f"PR #{p['number']} by {p['author']}, merged by {p['merged_by'] or '?'}; approved by {who}")
    return "; ".join(parts)


def _text(question, rows: list[dict], sources) -> str:
    lines = [f"{question.subject()} {question.days()} ({BUDGET_TZ.key} days: {_iso(question.start)} to "
             f"{_iso(question.end)}): {len({r['user_id'] for r in rows})} user(s) could call it, per git at "
             f"{sources.git[:12]}"]
    lines.append("sources: git history (grants, tiers); "
                 + (f"deploy evidence: {sources.notes['evidence']}" if "evidence" in sources.notes
                    else f"deploys and approvals {sources.deploys}")
                 + "; spend: " + (sources.spend or "LiteLLM /spend/logs/v2"))
    for r in rows:
        live, spend = r["live"], r["spend"]
        lines += [
            "", f"{r['user_id']}",
            f"  grant     {_grant_line(r)}",
            f"  in git    commit {r['grant_commit'][:12]} since {r['grant_since']}; access in the window "
            f"{r['access_from']} to {r['access_to']}",
            "  live      " + (f"since {live['since']} (deploy run {live['run_id'] or '?'}, commit "
                              f"{live['deploy_commit'][:12]}, {live['record']})" if live["status"] == "live"
                              else f"{live['status']}: {live['note']}"),
            f"  approved  {_approval_line(r['approvals'])}",
            "  spend     " + (f"${spend['usd']} in {spend['calls']} call(s) in the window under this grant"
                              if spend["usd"] is not None else spend["note"]),
        ]
    return "\n".join(lines)


def render(question, rows, sources, fmt: str) -> str:
    data = [as_dict(r) for r in rows]
    if fmt == "csv":
        return _csv(data)
    if fmt == "json":
        return json.dumps({"question": {"model": question.model, "tier": question.tier,
                                        "from": question.first_day.isoformat(), "to": question.last_day.isoformat(),
                                        "timezone": BUDGET_TZ.key, "start_utc": _iso(question.start),
                                        "end_utc": _iso(question.end)},
                           "git_commit": sources.git,
                           "sources": {"deploys": sources.deploys or "read", "approvals": sources.approvals or "read",
                                       "spend": sources.spend or "read", **sources.notes},
                           "users": data}, indent=2)
    return _text(question, data, sources)
