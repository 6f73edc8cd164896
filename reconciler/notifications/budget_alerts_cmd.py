"""`gatewayctl notify`: the budget alerts of reconciler/notifications/budget_alerts.py as a command: its options, its
run (through the run context: the client, the clock and the audit log) and its report."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from reconciler.errors import EXIT_ERROR, EXIT_OK, GatewayctlError, UsageError
from reconciler.notifications import notify
from reconciler.notifications.budget_alerts import render_text, work_out


def parse_now(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date and time: {text!r}") from None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def run(args: argparse.Namespace) -> int:
    from reconciler.live.state import read_live
    from reconciler.runctx import RunContext

    channel = notify.channel_from_args(args) if args.confirm else None
    if args.confirm and channel is None:
        raise UsageError("--confirm sends email: choose --notify ses or smtp (or set GATEWAYCTL_NOTIFY)")
    with RunContext(args) as ctx:
        desired = ctx.desired
        live = read_live(ctx.client, None)
    alerts, ledger = _work_out_with_ledger(ctx, desired, live)
    outcome = notify.deliver(alerts.messages, channel, ledger) if channel is not None else None
    _print(args.format, ctx.now, alerts, outcome)
    if channel is None:
        print("dry run: nothing was sent; re-run with --confirm (and --notify ses|smtp) to send", file=sys.stderr)
        return EXIT_OK
    ctx.audit.append({**ctx.audit_header("notify"), "now": ctx.now.isoformat(timespec="seconds"),
                      "budget_alerts": outcome.to_json(), "status": "ok" if not outcome.failed else "failed"})
    return EXIT_ERROR if outcome.failed else EXIT_OK


def _work_out_with_ledger(ctx, desired, live):
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        ledger = notify.SecretTagLedger(ctx.args.secret_prefix)
        return work_out(desired, live, ledger, now=ctx.now, today=ctx.today), ledger
    except (BotoCoreError, ClientError) as exc:  # the ledger's AWS errors: say which, without a traceback
        raise GatewayctlError(f"cannot read the notification ledger ({type(exc).__name__}: "
                              f"{notify._redact(str(exc))})") from exc


def _print(fmt: str, now: dt.datetime, alerts, outcome) -> None:
    if fmt == "json":
        print(json.dumps({"now": now.isoformat(timespec="seconds"), "findings": [f.to_json() for f in alerts.findings],
                          "warnings": alerts.warnings, "notifications": outcome.to_json() if outcome else None,
                          "due": [m.label for m in alerts.messages]}, indent=2, sort_keys=True))
    else:
        print(render_text(alerts, outcome))


DESCRIPTION = (
    "Compare each member's spend this budget window with the budget LiteLLM enforces (the tier's, less spend "
    "carried over a tier move, plus an active budget exception) and email the member, with their owner in copy, "
    "when it reaches one of the tier's `alerts` thresholds (policies/tiers.yaml). Each threshold is announced once "
    "per budget period: the ledger is a tag on the user's key secret, and the period changes when LiteLLM resets "
    "the member's spend. Messages never contain a key. Without --confirm, only lists what is due. Exit 0 ok, 1 "
    "error or a message not delivered (the next run sends it).")


def arguments(p: argparse.ArgumentParser) -> None:
    from reconciler import runctx
    from reconciler.live.keystore import DEFAULT_PREFIX

    p.add_argument("--now", type=parse_now, default=None, metavar="ISO8601",
                   help="the instant to evaluate at (default: the clock): which exceptions and carried spend are "
                        "active, whether a budget window has ended")
    p.add_argument("--confirm", action="store_true", help="really send")
    p.add_argument("--format", choices=("text", "json"), default="text")
    runctx.connection_arguments(p, key="; key: $LITELLM_MASTER_KEY (reads teams, memberships, users and keys; "
                                      "writes nothing to the gateway)")
    runctx.secret_prefix_argument(p, "Secrets Manager prefix of the key secrets that hold the ledger "
                                     f"(default {DEFAULT_PREFIX})")
    runctx.audit_log_argument(p, "append one JSON line per sending run here (default gatewayctl-audit.jsonl)")
    notify.add_arguments(p, "the channel budget alerts go through")
