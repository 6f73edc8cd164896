"""Subcommands that talk to the gateway: plan, apply, drift, import (and history, from git)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from reconciler.keystore import DEFAULT_PREFIX

# The gateway-facing modules (httpx, boto3) load lazily so `gatewayctl validate` stays fast.
from reconciler.lazy import lazy

report = lazy("reconciler.report")
client_mod = lazy("reconciler.client")
keystore = lazy("reconciler.keystore")
live_mod = lazy("reconciler.live")
plan_mod = lazy("reconciler.plan")

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_REFUSED = 0, 1, 2, 3


def git_commit(root: Path) -> str:
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _gateway_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", default=os.environ.get("LITELLM_BASE_URL"),
                   help="gateway URL (default: $LITELLM_BASE_URL)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    p.add_argument("--retries", type=int, default=5, help="retries on 429/5xx/network errors (default 5)")
    p.add_argument("--key-store", choices=("secretsmanager", "file"), default="secretsmanager",
                   help="where raw keys are delivered: AWS Secrets Manager (default) or 0600 files (demo)")
    p.add_argument("--secret-prefix", default=DEFAULT_PREFIX,
                   help=f"Secrets Manager name prefix; secret = prefix + user id (default {DEFAULT_PREFIX})")
    p.add_argument("--key-dir", type=Path, default=Path(".gatewayctl/keys"),
                   help="directory for --key-store file (default .gatewayctl/keys)")
    p.add_argument("--rotate", action="append", default=[], metavar="USER_ID",
                   help="issue a new key for this user and revoke the old one (repeatable)")
    p.add_argument("--plan-viewer", action="store_true",
                   help="also manage the read-only proxy_admin_viewer key PR plans use, stored as "
                        "<secret-prefix>gatewayctl-plan-viewer (without this flag that key is ignored)")


def _adopt_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--adopt", action="store_true",
                   help="take over LiteLLM users that match users/ but lack gatewayctl's marker "
                        "(after `gatewayctl import`); their existing unmanaged keys stay untouched")


def _limits_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-revocations", type=int, default=10,
                   help="refuse to revoke more keys than this in one run (default 10)")
    p.add_argument("--max-revocation-fraction", type=float, default=0.25,
                   help="refuse to revoke more than this fraction of managed keys (default 0.25; minimum 3 keys)")
    p.add_argument("--allow-mass-revocation", action="store_true", help="override both revocation limits")


def _store(args):
    if args.key_store == "file":
        return keystore.FileStore(args.key_dir if args.key_dir.is_absolute() else args.root / args.key_dir)
    return keystore.SecretsManagerStore(args.secret_prefix)


def _client(args):
    return client_mod.AdminClient(args.base_url or "", os.environ.get("LITELLM_MASTER_KEY", ""), timeout=args.timeout,
                       retries=args.retries)


def _today(args) -> dt.date:
    return args.today or dt.datetime.now(dt.UTC).date()


def make_plan(args, client, store):
    from reconciler.validate import load_desired

    desired = load_desired(args.root, today=_today(args))
    live = live_mod.read_live(client, store)
    limits = plan_mod.SafetyLimits(getattr(args, "max_revocations", 10), getattr(args, "max_revocation_fraction", 0.25),
                          getattr(args, "allow_mass_revocation", False))
    plan = plan_mod.build_plan(desired, live, today=_today(args), commit=git_commit(args.root),
                               rotate=frozenset(args.rotate), limits=limits, adopt=getattr(args, "adopt", False),
                               plan_viewer=args.plan_viewer)
    if getattr(args, "rotation_only", False):  # `gatewayctl rotate`: key rotations only, the rest waits for deploy
        from reconciler.rotation import only_rotations

        plan.actions, left = only_rotations(plan.actions)
        if left:
            plan.warnings.append(f"{left} other change(s) are left for the deploy job (`gatewayctl apply`)")
    untagged = getattr(store, "missing_owner_tag", ())
    if untagged:
        plan.warnings.append(f"{len(set(untagged))} key secret(s) lack the {keystore.OWNER_TAG} tag that lets their "
                             "owner read them; apply --confirm adds it")
    return plan


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR


def cmd_plan(args) -> int:
    try:
        with _client(args) as client:
            store = _store(args)
            plan = make_plan(args, client, store)
            if args.show_calls:
                print(f"calls: {client.stats.total} to LiteLLM ({client.stats.by_path}), "
                      f"{getattr(store, 'calls', 0)} to the key store", file=sys.stderr)
    except (client_mod.GatewayError, ValueError) as exc:
        return _fail(str(exc))
    if args.out:
        args.out.write_text(json.dumps(plan.to_json(), indent=2, sort_keys=True, default=str) + "\n")
    print(report.render_plan(plan, args.format))
    if plan.refused:
        return EXIT_REFUSED
    return EXIT_CHANGES if (plan.has_changes and args.detailed_exitcode) else EXIT_OK


def cmd_drift(args) -> int:
    args.detailed_exitcode = True
    args.out = None
    args.show_calls = False
    args.rotate = []
    return cmd_plan(args)


def cmd_apply(args) -> int:
    from reconciler.apply import (
        DEFAULT_CONCURRENCY,
        Executor,
        LockBusy,
        append_jsonl,
        apply_lock,
        audit_record,
        read_journal,
    )

    started = time.monotonic()
    try:
        channel = _notify_channel(args)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        state_dir = args.root / ".gatewayctl"
        journal = state_dir / "apply-journal.jsonl"
        with apply_lock(state_dir / "apply.lock", args.wait_lock), _client(args) as client:
            interrupted = read_journal(journal)
            if interrupted:
                print(f"note: the previous apply was interrupted after {len(interrupted) - 1} action(s); "
                      "its journal goes into this run's audit record, and this plan finishes its work",
                      file=sys.stderr)
            store = _store(args)
            fresh = make_plan(args, client, store)
            plan = fresh
            if args.plan_file:
                saved = plan_mod.Plan.from_json(json.loads(args.plan_file.read_text()))
                if saved.desired_digest != fresh.desired_digest:
                    return _fail("the saved plan was made from different users/ or policies/ files; re-run plan")
                if saved.live_digest != fresh.live_digest:
                    return _fail("live state changed since the plan was made; re-run plan and review it")
                plan = saved
            if plan.refused:
                print(report.text(plan))
                return EXIT_REFUSED
            if not args.confirm:
                print(report.text(plan))
                print("dry run: nothing was changed; re-run with --confirm to apply", file=sys.stderr)
                return EXIT_OK
            if not plan.has_changes:
                print(report.text(plan))
                results = []
            else:
                print(f"applying {len(plan.actions)} action(s) to {client._http.base_url} "
                      f"(keys to {store.describe()})", file=sys.stderr)
                for warning in plan.warnings:
                    print(f"! {warning}", file=sys.stderr)
                executor = Executor(client, store, commit=plan.git_commit, journal=journal)
                results = executor.execute(plan, args.concurrency or DEFAULT_CONCURRENCY)
            writes = client.stats.writes
            record_extra: dict = {}
            _after_apply(args, client, store, record_extra, channel)
            record = audit_record(plan, results, live_digest_before=fresh.live_digest, dry_run=False,
                                  started=started)
            record["gateway_writes"] = writes
            record.update(record_extra)
            if interrupted:
                record["interrupted_run"] = interrupted
            append_jsonl(args.audit_log if args.audit_log.is_absolute() else args.root / args.audit_log, record)
            journal.unlink(missing_ok=True)
    except LockBusy as exc:
        return _fail(str(exc))
    except (client_mod.GatewayError, ValueError, OSError) as exc:
        return _fail(str(exc))
    failed = [r for r in results if r.status != "ok"]
    print(f"Apply: {len(results) - len(failed)} ok, {len(failed)} failed, {writes} write(s). "
          f"Audit: {args.audit_log}", file=sys.stderr)
    if failed:
        print("re-run `gatewayctl apply --confirm` to converge", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _notify_channel(args):
    """The notification channel for this run, checked before anything is changed."""
    from reconciler import notify

    channel = notify.channel_from_args(args)
    if channel is not None and args.key_store != "secretsmanager":
        raise ValueError("notifications keep their ledger on the key secrets: use --key-store secretsmanager")
    return channel


def _after_apply(args, client, store, record: dict, channel) -> None:
    """Housekeeping once the plan is applied; none of it can fail the apply. Owner tags go on key
    secrets that predate them (employee self-service reads by that tag), then key notices."""
    missing = sorted(set(getattr(store, "missing_owner_tag", ())))
    if missing:
        try:
            store.tag_owners(missing)
            record["owner_tags_added"] = missing
            print(f"tagged {len(missing)} key secret(s) with their owner for self-service", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - reported; the next apply tries again
            print(f"warning: could not tag key secrets with their owner: {exc}", file=sys.stderr)
    if channel is None:
        return
    from reconciler import notices

    outcome = notices.after_apply(channel, root=args.root, client=client, store=store,
                                  secret_prefix=args.secret_prefix, today=_today(args), guide_url=args.guide_url)
    record["notifications"] = outcome.to_json()
    for line in outcome.failed:
        print(f"warning: notification not delivered, retried next run: {line}", file=sys.stderr)
    print(f"notifications via {outcome.channel}: {len(outcome.sent)} sent, {outcome.skipped} already sent, "
          f"{len(outcome.failed)} failed", file=sys.stderr)


def cmd_import(args) -> int:
    from reconciler.importer import write_imports

    try:
        with _client(args) as client:
            live = live_mod.read_live(client, None)
    except (client_mod.GatewayError, ValueError) as exc:
        return _fail(str(exc))
    written = write_imports(args.root, live, only_unmanaged=not args.all, overwrite=args.overwrite)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} file(s) written; review owner, cost_center and justification before committing",
          file=sys.stderr)
    return EXIT_OK


def _run_args(p: argparse.ArgumentParser) -> None:
    """What every command that writes to the gateway takes (apply, rotate)."""
    from reconciler import notify

    p.add_argument("--concurrency", type=int, default=None, help="users applied in parallel (default 4)")
    p.add_argument("--audit-log", type=Path, default=Path("gatewayctl-audit.jsonl"),
                   help="append the audit record here (default gatewayctl-audit.jsonl)")
    p.add_argument("--wait-lock", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another apply to finish instead of refusing (default 0)")
    notify.add_arguments(p)


def register(sub, common) -> None:
    p = sub.add_parser("plan", help="diff users/ and policies/ against the gateway; print the actions",
                       description="Read live state (paged list endpoints) and print what apply would do: "
                       "create, update (field: old -> new), move tier, rotate, revoke.")
    common(p)
    _gateway_args(p)
    _limits_args(p)
    p.add_argument("--out", type=Path, help="also write the plan as JSON (input for `apply PLAN`)")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.add_argument("--detailed-exitcode", action="store_true", help="exit 2 when there are changes")
    p.add_argument("--show-calls", action="store_true", help="print the number of API calls made")
    _adopt_arg(p)
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("apply", help="make the gateway match users/ and policies/ (dry run without --confirm)",
                       description="Apply a fresh plan, or a saved one (refused if live state changed since). "
                       "Without --confirm nothing is changed. Appends one JSON line to the audit log.")
    common(p)
    _gateway_args(p)
    _limits_args(p)
    p.add_argument("plan_file", nargs="?", type=Path, metavar="PLAN", help="plan JSON from `plan --out`")
    p.add_argument("--confirm", action="store_true", help="really apply")
    _adopt_arg(p)
    _run_args(p)
    p.set_defaults(func=cmd_apply)

    p = sub.add_parser("rotate", help="nightly job: rotate keys past their tier's key_max_age_days (dry run "
                       "without --confirm)",
                       description="Apply only key rotations: keys older than their tier's key_max_age_days get a "
                       "successor (the old key keeps working for key_rotation_overlap_days, then LiteLLM refuses "
                       "it), keys whose overlap window ended are deleted, and a key missing from the key store is "
                       "replaced. Every other difference is left for `gatewayctl apply` (the deploy job). Takes the "
                       "same lock and writes the same audit record as apply.")
    common(p)
    _gateway_args(p)
    p.add_argument("--confirm", action="store_true", help="really rotate")
    _run_args(p)
    p.set_defaults(func=cmd_apply, rotation_only=True, plan_file=None, adopt=False)

    p = sub.add_parser("drift", help="report-only plan for nightly jobs: exit 0 in sync, 2 drift, 1 error")
    common(p)
    _gateway_args(p)
    _limits_args(p)
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.set_defaults(func=cmd_drift)

    p = sub.add_parser("import", help="write users/<id>.yaml for users that exist only in LiteLLM (no secrets)")
    common(p)
    _gateway_args(p)
    p.add_argument("--all", action="store_true", help="also users already managed by gatewayctl")
    p.add_argument("--overwrite", action="store_true", help="replace existing users/<id>.yaml files")
    p.set_defaults(func=cmd_import)

    from reconciler import selfservice

    selfservice.register(sub, common)

    try:
        from reconciler import history
    except ImportError:
        return
    history.register(sub, common)
