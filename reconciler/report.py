"""Human and machine renderings of a plan: text for terminals, markdown for the PR comment,
json for tools. Only key hashes ever appear, never raw keys."""

from __future__ import annotations

import json

from reconciler.plan import Plan

SYMBOL = {"create": "+", "create-tier": "+", "adopt": "&", "update": "~", "update-tier": "~", "move": ">",
          "rotate": "@", "retire": "-", "revoke": "-"}
COMMENT_MARKER = "<!-- gatewayctl-plan -->"


def _fmt(value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _counts(plan: Plan) -> str:
    s = plan.to_json()["summary"]
    return ", ".join(f"{n} {k}" for k, n in sorted(s.items())) or "no changes"


def text(plan: Plan) -> str:
    lines = []
    for a in plan.actions:
        lines.append(f"{SYMBOL.get(a.kind, '?')} {a.kind} {a.target}" + (f" ({a.reason})" if a.reason else ""))
        for name, old, new in a.changes:
            lines.append(f"    {name}: {_fmt(old)} -> {_fmt(new)}")
    for w in plan.warnings:
        lines.append(f"! {w}")
    if plan.refused:
        lines.append(f"REFUSED: {plan.refused}")
    lines.append(f"Plan: {_counts(plan)}. (commit {plan.git_commit[:12]}, {plan.managed_key_count} managed keys)")
    return "\n".join(lines)


def markdown(plan: Plan, title: str = "gatewayctl plan") -> str:
    out = [COMMENT_MARKER, f"### {title}", "", f"**{_counts(plan)}** at `{plan.git_commit[:12]}`", ""]
    if plan.refused:
        out += [f"> [!CAUTION]\n> **Refused by a safety limit:** {plan.refused}", ""]
    if plan.actions:
        out += ["| | action | target | change |", "|---|---|---|---|"]
        for a in plan.actions:
            change = "<br>".join(f"`{n}`: {_fmt(o)} → {_fmt(v)}" for n, o, v in a.changes) or a.reason
            out.append(f"| {SYMBOL.get(a.kind, '?')} | {a.kind} | `{a.target}` | {change.replace('|', '&#124;')} |")
        out.append("")
    if plan.warnings:
        out += ["<details><summary>Warnings</summary>", ""] + [f"- {w}" for w in plan.warnings] + ["", "</details>"]
    out += ["", f"<sub>desired `{plan.desired_digest[:19]}` · live `{plan.live_digest[:19]}`</sub>"]
    return "\n".join(out)


def render_plan(plan: Plan, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(plan.to_json(), indent=2, sort_keys=True, default=str)
    if fmt == "markdown":
        return markdown(plan)
    return text(plan)
