"""`gatewayctl report --format text|markdown`: the groups, the tiers against their caps, and the users at
or above 80% of their budget."""

from __future__ import annotations

from decimal import Decimal


def render_text(report: dict, *, markdown: bool) -> str:
    by = report["by"].replace("_", " ")
    diff = Decimal(report["difference_usd"])
    pct = lambda v: "-" if v is None else f"{v:.0%}"  # noqa: E731
    if markdown:
        lines = [f"### Chargeback {report['period']} by {by} ({report['timezone']})", "",
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
    lines = [f"Chargeback {report['period']} ({report['timezone']}), by {by}:",
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
