"""`gatewayctl access`: the auditor's three questions in one run. Who could call the model (git,
reconciler/history/access.py), when a deploy made each grant live and who approved it (the deploy's
audit records and captured approvals, reconciler/history/evidence.py), and what each user spent in the
window (LiteLLM's spend logs, reconciler/finops/spend.py). The git part always answers; the others say
per column why they could not (no records given, no gateway, the gateway's error)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from reconciler.errors import EXIT_OK, UsageError
from reconciler.history import access as model
from reconciler.history import render_access
from reconciler.history.evidence import Evidence, effective_approvals, live_since, read_evidence
from reconciler.history.grants import load_timeline


@dataclass
class Sources:
    """What each column was read from, or why it could not be."""

    git: str = ""
    deploys: str | None = None  # None: read
    approvals: str | None = None
    spend: str | None = None
    notes: dict = field(default_factory=dict)


def _live(rows: list[model.Access], evidence: Evidence | None, history, timeline) -> None:
    for row in rows:
        if evidence is None:
            row.fields["live"] = {"status": "unknown", "note": "no audit records given (--evidence)"}
            continue
        deploy = live_since(evidence.deploys, row.user_id, row.grant.commit, history.position)
        replaced = model.next_change(timeline, row)  # a deploy after the next change shows that one
        limit = history.position.get(history.at(replaced) or "") if replaced else None
        if deploy is None or (limit is not None and history.position[deploy.commit] >= limit):
            row.fields["live"] = {"status": "not deployed",
                                  "note": "no apply in the records given put this grant live"}
            continue
        row.fields["live"] = {"status": "live", "since": deploy.ts.isoformat(timespec="seconds"),
                              "run_id": deploy.run_id, "deploy_commit": deploy.commit, "record": deploy.source,
                              "action": deploy.acted.get(row.user_id)}


def _approvals(rows: list[model.Access], evidence: Evidence | None) -> None:
    for row in rows:
        if evidence is None:
            row.fields["approvals"] = {"status": "unknown", "note": "no audit records given (--evidence): "
                                       "approvals are captured there at deploy"}
            continue
        entry = evidence.approvals.get(row.grant.commit)
        if entry is None:
            row.fields["approvals"] = {"status": "not captured",
                                       "note": f"no captured approvals for commit {row.grant.commit[:12]} "
                                       "(deployed before capture, or its records not given); ask GitHub"}
        elif "error" in entry:
            row.fields["approvals"] = {"status": "not captured", "note": f"GitHub said: {entry['error']}"}
        elif not entry.get("pulls"):
            row.fields["approvals"] = {"status": "no pull request",
                                       "note": "GitHub associates no pull request with this commit"}
        else:
            row.fields["approvals"] = {"status": "captured", "pulls": [
                {"number": p.get("number"), "author": p.get("author"), "merged_by": p.get("merged_by"),
                 "approved_by": effective_approvals(p)} for p in entry["pulls"]]}


def _spend(rows: list[model.Access], question: model.Question, timeline, args) -> str | None:
    """Each row's spend in the window under its grant; None when read, else why not."""
    from reconciler.runctx import MASTER_KEY_ENV, RunContext

    if not args.base_url:
        return "not read: no gateway (--base-url or $LITELLM_BASE_URL)"
    if not os.environ.get(MASTER_KEY_ENV):
        return f"not read: no key (${MASTER_KEY_ENV}, a key that may read /spend/logs/v2)"
    from reconciler.finops.spend import spend_rows
    from reconciler.live.client import GatewayError

    by_grant = {(r.user_id, r.grant.commit): r for r in rows}
    totals: dict[tuple[str, str], list] = {k: [Decimal(0), 0] for k in by_grant}
    try:
        with RunContext(args) as ctx:
            for row in spend_rows(ctx.client, question.start, question.end):
                grant = timeline.at(row.user_id, row.start)
                key = (row.user_id, grant.commit if grant else "")
                if key in totals:
                    totals[key][0] += row.spend
                    totals[key][1] += 1
    except GatewayError as exc:
        return f"unavailable: {exc}"
    for key, (usd, calls) in totals.items():
        by_grant[key].fields["spend"] = {"usd": usd, "calls": calls}
    return None


def answer(args: argparse.Namespace) -> tuple[model.Question, list[model.Access], Sources]:
    question = _question(args)
    timeline = load_timeline(args.root)
    history = model.FirstParent(args.root)
    models, tiers = model.known_subjects(history, question)
    if question.model and question.model not in models:
        raise UsageError(f"--model {question.model}: no tier in {model.TIERS_FILE} names this model alias at HEAD "
                         f"or {question.days()} (known: {', '.join(sorted(models)) or 'none'})")
    if question.tier and question.tier not in tiers:
        raise UsageError(f"--tier {question.tier}: not a tier in {model.TIERS_FILE} at HEAD or {question.days()} "
                         f"(known: {', '.join(sorted(tiers)) or 'none'})")
    rows = model.who_could(question, timeline, history)
    sources = Sources(git=history.head)
    evidence = read_evidence(args.evidence) if args.evidence else None
    if evidence is None:
        sources.deploys = sources.approvals = "not read: no audit records given (--evidence DIR)"
    else:
        sources.notes["evidence"] = (f"{evidence.files} file(s), {len(evidence.deploys)} apply record(s), "
                                     f"approvals for {len(evidence.approvals)} commit(s)")
    _live(rows, evidence, history, timeline)
    _approvals(rows, evidence)
    sources.spend = _spend(rows, question, timeline, args)
    for row in rows:
        row.fields.setdefault("spend", {"usd": None, "calls": None, "note": sources.spend})
    return question, rows, sources


def _question(args: argparse.Namespace) -> model.Question:
    if args.at is not None and (args.from_day or args.to_day):
        raise UsageError("give either --at DATE or --from DATE --to DATE, not both")
    if args.at is not None:
        return model.Question(args.model, args.tier, args.at, args.at)
    if not (args.from_day and args.to_day):
        raise UsageError("give --at DATE, or both --from DATE and --to DATE")
    if args.to_day < args.from_day:
        raise UsageError(f"--to {args.to_day} is before --from {args.from_day}")
    return model.Question(args.model, args.tier, args.from_day, args.to_day)


def cmd_access(args: argparse.Namespace) -> int:
    question, rows, sources = answer(args)
    print(render_access.render(question, rows, sources, args.format))
    if sources.spend and args.format == "text":
        print(f"note: spend {sources.spend}", file=sys.stderr)
    return EXIT_OK


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def arguments(p: argparse.ArgumentParser) -> None:
    from reconciler import runctx

    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", metavar="ALIAS", help="a model alias of policies/models.yaml, e.g. model-reasoning")
    what.add_argument("--tier", metavar="KEY", help="a tier key of policies/tiers.yaml, e.g. architect")
    p.add_argument("--at", type=_day, metavar="YYYY-MM-DD", help="one day (Asia/Kolkata, the budgets' timezone)")
    p.add_argument("--from", dest="from_day", type=_day, metavar="YYYY-MM-DD", help="first day of a range")
    p.add_argument("--to", dest="to_day", type=_day, metavar="YYYY-MM-DD", help="last day of a range (inclusive)")
    p.add_argument("--format", choices=("text", "csv", "json"), default="text", help="text (default), csv or json")
    p.add_argument("--evidence", type=Path, action="append", default=[], metavar="PATH",
                   help="the deploys' audit artifacts: a directory (searched for *.jsonl audit records and "
                        "*.json approvals files) or a file; repeatable. Without it the live and approval columns "
                        "say so")
    runctx.connection_arguments(p, timeout=60.0, key="; spend needs it and $LITELLM_MASTER_KEY (a key that may "
                                                    "read /spend/logs/v2); without them the spend column says so")
