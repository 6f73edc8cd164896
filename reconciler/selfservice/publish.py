"""`gatewayctl publish-usage`: write each member's month where only they can read it.

An employee's key may call the LLM routes only, and no LiteLLM route shows a member's own spend and
budget to a key limited that way (measured: tests/test_selfservice_usage.py,
docs/adr/0007-employee-usage-in-secret-tags.md).
So the nightly job, which reads every member's spend for the budget alerts already, writes it onto
each member's key secret as tags (gatewayctl_me.contract.USAGE_TAGS): the spend this budget window
and the budget exactly as LiteLLM enforces them (reconciler/notifications/budget_alerts.py, usage_of:
carried spend and budget exceptions included), the reset time, the day the key is due for rotation,
and when it was read. The employee-key-access policy lets a session describe a secret (tags
included) only when the secret's gitops_user_id tag equals its own, so a member reads their month
and nobody else's; and only gatewayctl's writer may tag a user secret (its resource policy), which is
the role the nightly job already runs as: nothing in IAM changes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys

from gatewayctl_me import contract

from reconciler.desired.policy import BUDGET_TZ, DesiredState, Tier, User
from reconciler.errors import EXIT_OK, GatewayctlError
from reconciler.live.state import LiveState
from reconciler.notifications.budget_alerts import usage_of
from reconciler.plan import rotation

_NOT_IN_A_TAG = re.compile(r"[^\w .:/=+\-@]")  # what Secrets Manager refuses in a tag value


def _tag(value: str) -> str:
    return _NOT_IN_A_TAG.sub(" ", value)[:256]


def rotates_on(user: User, tier: Tier, live: LiveState, secret_hash: str | None) -> str | None:
    """The day the nightly job rotates the member's current key ("never" for a tier without rotation),
    or None when the key the secret holds is not found in the gateway."""
    if tier.key_max_age_days is None:
        return contract.NEVER
    key = next((k for k in live.managed_keys(user.id) if k.token == secret_hash), None)
    born = rotation.issued_on(key) if key is not None else None
    return None if born is None else (born + dt.timedelta(days=tier.key_max_age_days)).isoformat()


def usage_tags(desired: DesiredState, live: LiveState, now: dt.datetime) -> tuple[dict[str, dict[str, str]],
                                                                                  list[str]]:
    """user id -> the tags to write on their secret; and why some members get none."""
    out, skipped = {}, []
    as_of = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for uid in sorted(desired.users):
        user = desired.users[uid]
        tier = desired.tiers.get(user.tier)
        if tier is None or user.expired(now.astimezone(dt.UTC).date()):
            continue
        if uid not in live.secrets:
            skipped.append(f"{uid}: no key secret yet")
            continue
        usage = usage_of(user, tier, live, now)
        rotates = rotates_on(user, tier, live, live.secrets.get(uid))
        if usage is None or rotates is None:
            skipped.append(f"{uid}: {'not a member of a tier team' if usage is None else 'key not in the gateway'}"
                           " yet (an apply still to run?)")
            continue
        out[uid] = {contract.TIER_TAG: _tag(tier.display_name), contract.MODELS_TAG: _tag(" ".join(tier.models)),
                    contract.SPEND_TAG: str(usage.spent), contract.BUDGET_TAG: str(usage.budget),
                    contract.RESETS_TAG: usage.resets_at.astimezone(BUDGET_TZ).isoformat(timespec="seconds"),
                    contract.ROTATES_TAG: rotates, contract.AS_OF_TAG: as_of}
    return out, skipped


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from reconciler.live.secretsmanager import SecretsManagerStore
    from reconciler.live.state import read_live
    from reconciler.runctx import RunContext

    with RunContext(args) as ctx:
        store = SecretsManagerStore(args.secret_prefix)
        live = read_live(ctx.client, store)
        tags, skipped = usage_tags(ctx.desired, live, ctx.now)
    for line in skipped:
        print(f"! {line}")
    if not args.confirm:  # each member's numbers only here: the nightly job's log is read by more than them
        for uid, t in tags.items():
            print(f"{uid}: ${t[contract.SPEND_TAG]} of ${t[contract.BUDGET_TAG]}, resets {t[contract.RESETS_TAG]}, "
                  f"key rotates {t[contract.ROTATES_TAG]}")
        print("dry run: no tag was written; re-run with --confirm", file=sys.stderr)
        return EXIT_OK
    try:
        for uid, t in tags.items():
            store.tag(uid, t)
    except (BotoCoreError, ClientError) as exc:
        raise GatewayctlError(f"cannot tag the key secrets: {exc}") from exc
    print(f"published the month of {len(tags)} member(s) on their key secrets")
    ctx.audit.append({**ctx.audit_header("publish-usage"), "now": ctx.now.isoformat(timespec="seconds"),
                      "published": sorted(tags), "skipped": skipped, "status": "ok"})
    return EXIT_OK


DESCRIPTION = (
    "Write each member's month onto their key secret as tags (gatewayctl:me:*): spend this budget window and the "
    "budget as LiteLLM enforces them, the reset time, the day the key is due for rotation, and when this ran. Only "
    "the member's own AWS session may read them (the employee-key-access policy), with `gatewayctl me` or the AWS "
    "CLI. The nightly job runs it after the budget alerts. Without --confirm, only lists what it would write.")


def arguments(p: argparse.ArgumentParser) -> None:
    from reconciler import runctx
    from reconciler.notifications.budget_alerts_cmd import parse_now

    p.add_argument("--now", type=parse_now, default=None, metavar="ISO8601",
                   help="the instant to evaluate at (default: the clock)")
    p.add_argument("--confirm", action="store_true", help="really write the tags")
    runctx.connection_arguments(p, key="; key: $LITELLM_MASTER_KEY (reads teams, memberships, users and keys; "
                                      "writes nothing to the gateway)")
    runctx.secret_prefix_argument(p, f"Secrets Manager prefix of the key secrets (default {contract.DEFAULT_PREFIX})")
    runctx.audit_log_argument(p, "append one JSON line per confirmed run here (default gatewayctl-audit.jsonl)")
