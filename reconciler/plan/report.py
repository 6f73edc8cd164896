"""Human and machine renderings of a plan and its review (reconciler/plan/review.py): text for
terminals, markdown for the PR comment, json for tools. Only key hashes ever appear, never raw keys."""

from __future__ import annotations

import json
import re

from reconciler.plan import ACTION_KINDS, Action, Plan, PlanReport, commitment

SYMBOL = {kind: symbol for kind, (_, symbol) in ACTION_KINDS.items()}
COMMENT_MARKER = "<!-- gatewayctl-plan -->"
OUT_OF_BAND_TITLE = "Access outside git"
OUT_OF_BAND_NOTE = ("not changed by this apply: prunes need `--prune-unmanaged`, reports need a person")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Characters with a meaning in GitHub Markdown, HTML or its autolinking; user-controlled text (names
# from users/, key aliases anyone with the master key chose) is shown literally, never interpreted.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!~>:=])")
_NOTIFYING = re.compile(r"[@#|]")
_NOTIFYING_SAFE = {"@": "@&#8203;", "#": "#&#8203;", "|": "&#124;"}


def _fmt(value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def plain(value) -> str:
    """Text for a terminal: control characters (escape sequences) are shown, not sent."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", _fmt(value))


def escape_markdown(value) -> str:
    """Text that renders as itself in a GitHub comment or issue: no HTML, no Markdown, no table
    breaks, no @mention and no #reference notifies anyone."""
    text = _CONTROL.sub(" ", _fmt(value))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    # A zero-width space after @ and # breaks mentions and issue/team references (GitHub links
    # them in text, escaped or not); the pipe would end a table cell.
    return _NOTIFYING.sub(lambda m: _NOTIFYING_SAFE[m.group()], text)


def _reviewed(plan: Plan | PlanReport) -> PlanReport:
    """A bare plan (read from a file) renders with an empty review."""
    return plan if isinstance(plan, PlanReport) else PlanReport(plan)


def _counts(plan: Plan) -> str:
    s = plan.to_json()["summary"]
    return ", ".join(f"{n} {k}" for k, n in sorted(s.items())) or "no changes"


def budget_alert_line(reviewed: PlanReport) -> str | None:
    """The tiers' budget alert thresholds in one line (reconciler/notifications/budget_alerts.py)."""
    if reviewed.budget_alerts is None:
        return None
    tiers = [f"{key} {', '.join(f'{t}%' for t in alerts) if alerts else 'none'}"
             for key, alerts in reviewed.budget_alerts.items()]
    return "Budget alerts (gatewayctl notify, to the member with their owner in copy): " + "; ".join(tiers)


def _text_action(a: Action) -> list[str]:
    lines = [f"{SYMBOL.get(a.kind, '?')} {a.kind} {plain(a.target)}" + (f" ({plain(a.reason)})" if a.reason else "")]
    for name, old, new in a.changes:
        lines.append(f"    {name}: {plain(old)} -> {plain(new)}")
    return lines


def text(reviewed: PlanReport | Plan) -> str:
    reviewed = _reviewed(reviewed)
    plan = reviewed.plan
    lines = []
    for a in plan.actions:
        lines += _text_action(a)
    if plan.out_of_band:
        lines.append(f"{OUT_OF_BAND_TITLE} ({OUT_OF_BAND_NOTE}):")
        for a in plan.out_of_band:
            lines += _text_action(a)
    cost = commitment.lines(reviewed.finops)
    if cost and plan.actions:
        lines += ["What it costs:"] + [f"    {plain(c)}" for c in cost]
    alerts = budget_alert_line(reviewed)
    if alerts:
        lines.append(plain(alerts))
    for w in plan.warnings:
        lines.append(f"! {plain(w)}")
    if plan.refused:
        lines.append(f"REFUSED: {plan.refused}")
    if reviewed.scope:
        lines.append(f"Read: {plain(reviewed.scope['note'])}")
    lines.append(f"Plan: {_counts(plan)}. (commit {plan.git_commit[:12]}, {plan.managed_key_count} managed keys)")
    return "\n".join(lines)


def markdown(reviewed: PlanReport | Plan, title: str = "gatewayctl plan") -> str:
    reviewed = _reviewed(reviewed)
    plan = reviewed.plan
    out = [COMMENT_MARKER, f"### {title}", "", f"**{_counts(plan)}** at {escape_markdown(plan.git_commit[:12])}", ""]
    if plan.refused:
        out += [f"> [!CAUTION]\n> **Refused by a safety limit:** {escape_markdown(plan.refused)}", ""]
    if plan.actions:
        out += [*_markdown_table(plan.actions), ""]
    if plan.out_of_band:
        out += [f"**{OUT_OF_BAND_TITLE}** ({OUT_OF_BAND_NOTE.replace('`', '')}):", ""]
        out += [*_markdown_table(plan.out_of_band, reasons=True), ""]
    cost = commitment.lines(reviewed.finops)
    if cost and plan.actions:
        out += ["**What it costs** (maximum monthly commitment: tier budgets plus active exceptions)", ""]
        out += [f"- {escape_markdown(c)}" for c in cost] + [""]
    alerts = budget_alert_line(reviewed)
    if alerts:
        out += [escape_markdown(alerts), ""]
    if plan.warnings:
        out += ["<details><summary>Warnings</summary>", ""] + [f"- {escape_markdown(w)}" for w in plan.warnings]
        out += ["", "</details>"]
    if reviewed.scope:
        out += ["", f"<sub>Read: {escape_markdown(reviewed.scope['note'])}</sub>"]
    out += ["", f"<sub>desired `{plan.desired_digest[:19]}` · live `{plan.live_digest[:19]}`</sub>"]
    return "\n".join(out)


def _markdown_table(actions: list[Action], *, reasons: bool = False) -> list[str]:
    rows = ["| | action | target | change |", "|---|---|---|---|"]
    for a in actions:
        change = "<br>".join(f"{escape_markdown(n)}: {escape_markdown(o)} → {escape_markdown(v)}"
                             for n, o, v in a.changes)
        if reasons or not change:
            change = escape_markdown(a.reason) + (f"<br>{change}" if change and reasons else "")
        rows.append(f"| {SYMBOL.get(a.kind, '?')} | {a.kind} | {escape_markdown(a.target)} | {change} |")
    return rows


def render_plan(reviewed: PlanReport | Plan, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(_reviewed(reviewed).to_json(), indent=2, sort_keys=True, default=str)
    if fmt == "markdown":
        return markdown(reviewed)
    return text(reviewed)
