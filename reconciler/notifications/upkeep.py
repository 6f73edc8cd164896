"""What apply and rotate do once the plan is applied, none of which can fail the apply: owner tags on key
secrets that predate them (employee self-service reads by that tag), with --adopt-key-secrets gatewayctl's
resource policy on those that predate it, then key notices."""

from __future__ import annotations

import sys

from reconciler.errors import UsageError, redact


def notify_channel(args):
    """The notification channel for this run, checked before anything is changed. A setting that is
    missing or wrong is a warning here, not an error: a revocation must not wait for an email."""
    from reconciler.notifications import notify

    channel = notify.channel_or_unconfigured(args)
    if channel is not None and args.key_store != "secretsmanager":
        raise UsageError("notifications keep their ledger on the key secrets: use --key-store secretsmanager")
    if isinstance(channel, notify.UnconfiguredChannel):
        print(f"warning: {channel.problem}. The run goes ahead; the notices due are recorded as not delivered "
              "in the audit log and sent by the first run after the setting is fixed", file=sys.stderr)
    return channel


def tend_key_secrets(store, record: dict) -> None:
    """Owner tags on secrets the listing found without one; with adopt_unguarded, the resource policy."""
    missing = sorted(set(store.missing_owner_tag))
    if missing:
        try:
            store.tag_owners(missing)
            record["owner_tags_added"] = missing
            print(f"tagged {len(missing)} key secret(s) with their owner for self-service", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - reported; the next apply tries again
            print(f"warning: could not tag key secrets with their owner: {redact(str(exc))}", file=sys.stderr)
    if store.adopt_unguarded:
        try:
            checked, refused = store.guard_listed()
            record["key_secrets_guarded"] = checked
            print(f"{len(checked)} key secret(s) carry gatewayctl's resource policy", file=sys.stderr)
            for reason in refused:
                print(f"warning: {reason}", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - reported; the next apply tries again
            print(f"warning: could not check the key secrets' resource policies: {redact(str(exc))}", file=sys.stderr)


def after_apply(ctx, reviewed, results, record: dict, channel) -> None:
    """`results`: the executor's, which with the plan's live state tell the notices what changed."""
    tend_key_secrets(ctx.store, record)
    if channel is None:
        return
    from reconciler.notifications import notices

    outcome = notices.after_apply(channel, ctx, reviewed, results, guide_url=ctx.args.guide_url)
    record["notifications"] = outcome.to_json()
    for line in outcome.failed:
        print(f"warning: notification not delivered, retried next run: {line}", file=sys.stderr)
    print(f"notifications via {outcome.channel}: {len(outcome.sent)} sent, {outcome.skipped} already sent, "
          f"{len(outcome.failed)} failed", file=sys.stderr)
