"""`gatewayctl report --format html`: one self-contained page (inline SVG and CSS, no script, nothing fetched)
with spend per tier and per cost center by day, the top users against their budgets, and the budget
exceptions. Every figure a chart draws is also in its elements' data attributes (`data-usd`, and the chart's
`data-total-usd`), so a test can read them back from the rendered page and compare them with the CSV."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from html import escape

from reconciler.finops.money import cents

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac")
TOP_USERS = 10
WIDTH, HEIGHT, PAD = 760, 240, 40

CSS = """body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:820px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}table{border-collapse:collapse}
td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}td.n{text-align:right}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;
margin-right:4px}.muted{color:#666}"""


def _days(report: dict) -> list[str]:
    start = dt.datetime.fromisoformat(report["from_utc"])
    end = dt.datetime.fromisoformat(report["to_utc"])
    tz = _tz(report)
    first, last = start.astimezone(tz).date(), (end - dt.timedelta(seconds=1)).astimezone(tz).date()
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def _tz(report: dict):
    from zoneinfo import ZoneInfo

    return ZoneInfo(report["timezone"])


def stacked_by_day(report: dict, key: str, title: str) -> str:
    """A stacked bar per day, one colour per `key` value (tier or cost_center)."""
    days = _days(report)
    per: dict[tuple[str, str], Decimal] = {}
    for d in report["daily"]:
        k = (d["day"], d[key])
        per[k] = per.get(k, Decimal(0)) + Decimal(d["spend_exact_usd"])
    names = sorted({n for _, n in per}, key=lambda n: (-sum(v for (_, m), v in per.items() if m == n), n))
    colour = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}
    day_totals = [sum((v for (d, _), v in per.items() if d == day), Decimal(0)) for day in days]
    top = max(day_totals, default=Decimal(0)) or Decimal(1)
    total = sum(per.values(), Decimal(0))
    bar_w = (WIDTH - PAD) / max(len(days), 1)
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{WIDTH}" height="{HEIGHT + 30}" '
             f'data-chart="{key}" data-total-usd="{cents(total)}" xmlns="http://www.w3.org/2000/svg">',
             f'<title>{escape(title)}: ${cents(total)}</title>',
             f'<line x1="{PAD}" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" stroke="#999"/>',
             f'<text x="0" y="12" font-size="11">${cents(top)}</text>',
             f'<text x="0" y="{HEIGHT}" font-size="11">$0</text>']
    for i, day in enumerate(days):
        x, y = PAD + i * bar_w, float(HEIGHT)
        for name in names:
            v = per.get((day, name))
            if not v:
                continue
            h = float(v / top) * (HEIGHT - 20)
            y -= h
            parts.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" height="{h:.1f}" '
                         f'fill="{colour[name]}" data-day="{day}" data-{key.replace("_", "-")}="{escape(name)}" '
                         f'data-usd="{v}"><title>{day} {escape(name)}: ${cents(v)}</title></rect>')
        if i % max(1, len(days) // 8) == 0:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT + 14}" font-size="10">{day[5:]}</text>')
    parts.append("</svg>")
    legend = "".join(f'<span><i style="background:{colour[n]}"></i>{escape(n)} '
                     f'${cents(sum((v for (_, m), v in per.items() if m == n), Decimal(0)))}</span>' for n in names)
    return (f"<h2>{escape(title)}</h2>\n" + "\n".join(parts)
            + f'\n<p class="legend">{legend or "<span class=muted>no spend</span>"} total ${cents(total)}</p>')


def users_against_budget(report: dict) -> str:
    users = sorted(report["users"], key=lambda u: (-Decimal(u["spend_usd"]), u["user_id"]))[:TOP_USERS]
    users = [u for u in users if Decimal(u["spend_usd"]) > 0]
    row_h, label_w = 24, 160
    top = max([Decimal(u["budget_usd"]) for u in users] + [Decimal(u["spend_usd"]) for u in users], default=Decimal(1))
    scale = (WIDTH - label_w - 150) / float(top or 1)  # room for the "$spend of $budget" label
    parts = [f'<svg class="chart" role="img" aria-label="Top users against their budgets" width="{WIDTH}" '
             f'height="{row_h * len(users) + 10}" data-chart="users" xmlns="http://www.w3.org/2000/svg">']
    for i, u in enumerate(users):
        y, spend, budget = 5 + i * row_h, Decimal(u["spend_usd"]), Decimal(u["budget_usd"])
        hot = "#e15759" if (u["utilisation"] or 0) >= 0.8 else "#4e79a7"
        parts += [f'<text x="0" y="{y + 14}" font-size="12">{escape(u["user_id"])}</text>',
                  f'<rect x="{label_w}" y="{y}" width="{float(budget) * scale:.1f}" height="18" fill="#eee" '
                  f'stroke="#bbb" data-budget-usd="{budget}"/>',
                  f'<rect x="{label_w}" y="{y + 4}" width="{float(spend) * scale:.1f}" height="10" fill="{hot}" '
                  f'data-user="{escape(u["user_id"])}" data-usd="{spend}"/>',
                  f'<text x="{label_w + float(max(spend, budget)) * scale + 6:.1f}" y="{y + 14}" font-size="11">'
                  f'${spend} of ${budget}</text>']
    parts.append("</svg>")
    return "<h2>Top users against their budgets</h2>\n" + "\n".join(parts)


def _table(head: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f'<td{" class=n" if i in numeric else ""}>{escape(str(c))}</td>'
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def render_html(report: dict) -> str:
    by = report["by"].replace("_", " ")
    exceptions = [u for u in report["users"] if u.get("exception_usd")]
    groups = _table([by, "spend", "users", "calls"], [[g["group"], "$" + g["spend_usd"], g["users"], g["calls"]]
                                                       for g in report["groups"]], {1, 2, 3})
    tiers = _table(["tier", "spend", "members", "aggregate cap"],
                   [[t["tier"], "$" + t["spend_usd"], t["members"], "$" + t["cap_usd"]] for t in report["tiers"]],
                   {1, 2, 3})
    exc = (_table(["user", "tier", "exception", "until", "spend", "budget with it"],
                  [[u["user_id"], u["tier"], "$" + u["exception_usd"], u["exception_until"], "$" + u["spend_usd"],
                    "$" + u["budget_usd"]] for u in exceptions], {2, 4, 5})
           if exceptions else '<p class="muted">No budget exception in force.</p>')
    title = f"Chargeback {report['period']}"
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted">{escape(report["timezone"])}, {escape(report["from_utc"])} to {escape(report["to_utc"])} '
        f'(UTC); git {escape(report["git_commit"][:12])}; {report["spend_rows"]:,} spend-log rows; gateway total '
        f'<b id="total" data-total-usd="{report["gateway_total_usd"]}">${report["gateway_total_usd"]}</b></p>',
        stacked_by_day(report, "tier", "Spend per tier by day"),
        stacked_by_day(report, "cost_center", "Spend per cost center by day"),
        users_against_budget(report),
        "<h2>Budget exceptions</h2>", exc,
        f"<h2>Spend by {escape(by)}</h2>", groups,
        "<h2>Tiers against their aggregate cap</h2>", tiers,
        "</body></html>"])
