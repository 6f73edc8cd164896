"""The subcommands that talk to the gateway (plan, apply, rotate, drift, import): their options and
what they do. reconciler/cli.py wires them into the command line."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from reconciler import deploystate
from reconciler.errors import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    GatewayctlError,
    UsageError,
    expected_io,
    redact,
)
from reconciler.keystore import DEFAULT_PREFIX, DEFAULT_SERVICE_PREFIX, KMS_KEY_ENV

# The gateway-facing modules (httpx, boto3) load lazily so `gatewayctl validate` stays fast.
from reconciler.lazy import lazy
from reconciler.limits import SafetyLimits
from reconciler.steps import Op

report = lazy("reconciler.report")
client_mod = lazy("reconciler.client")
keystore = lazy("reconciler.keystore")
live_mod = lazy("reconciler.live")
plan_mod = lazy("reconciler.plan")


def git_commit(root: Path) -> str:
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def gateway_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", default=os.environ.get("LITELLM_BASE_URL"),
                   help="gateway URL (default: $LITELLM_BASE_URL)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    p.add_argument("--retries", type=int, default=5, help="retries on 429/5xx/network errors (default 5)")
    p.add_argument("--key-store", choices=("secretsmanager", "file"), default="secretsmanager",
                   help="where raw keys are delivered: AWS Secrets Manager (default) or 0600 files (demo)")
    p.add_argument("--secret-prefix", default=DEFAULT_PREFIX,
                   help=f"Secrets Manager name prefix; secret = prefix + user id (default {DEFAULT_PREFIX})")
    p.add_argument("--service-secret-prefix", default=DEFAULT_SERVICE_PREFIX,
                   help="Secrets Manager name prefix of service keys (the plan-viewer's), outside the per-user "
                        f"prefix (default {DEFAULT_SERVICE_PREFIX})")
    p.add_argument("--kms-key-id", default=os.environ.get(KMS_KEY_ENV) or None, metavar="KEY",
                   help="the project's KMS key (id, ARN or alias) that new key secrets are encrypted with; "
                        f"required to write secrets (default: ${KMS_KEY_ENV})")
    p.add_argument("--adopt-key-secrets", action="store_true",
                   help="write into user key secrets that carry no resource policy (made by a gatewayctl older "
                        "than the policy) and give them ours; without it such a secret is refused")
    p.add_argument("--key-dir", type=Path, default=Path(".gatewayctl/keys"),
                   help="directory for --key-store file (default .gatewayctl/keys)")
    p.add_argument("--rotate", action="append", default=[], metavar="USER_ID",
                   help="issue a new key for this user and revoke the old one (repeatable)")
    p.add_argument("--plan-viewer", action="store_true",
                   help="also manage the read-only proxy_admin_viewer key PR plans use, stored as "
                        "<service-secret-prefix>gatewayctl-plan-viewer (without this flag that key is ignored)")


def adopt_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--adopt", action="store_true",
                   help="take over LiteLLM users that match users/ but lack gatewayctl's marker "
                        "(after `gatewayctl import`); keys they already hold are out-of-band (see --prune-unmanaged)")
    p.add_argument("--prune-unmanaged", action="store_true",
                   help="also remove access no file grants: keys gatewayctl did not issue and tier-team "
                        "memberships of users not in users/ (always reported as drift; within the safety limits)")


def limit_arguments(p: argparse.ArgumentParser) -> None:
    defaults = SafetyLimits()
    g = p.add_argument_group(
        "safety limits",
        "Destructive changes of each kind (revocations, rotations, tier moves, prunes) and in total are "
        "limited per run to min(MAX, max(1, floor(FRACTION x managed keys))); a run over any limit is refused "
        "(exit 3). Each limit is lifted only by its own --allow-mass-* flag, also when applying a saved plan.")
    for kind, plural in (("revocation", "revocations"), ("rotation", "rotations"), ("move", "moves"),
                         ("prune", "prunes")):
        cap = defaults.cap(kind)
        g.add_argument(f"--max-{plural}", type=int, default=cap, metavar="N",
                       help=f"at most N {plural} in one run (default {cap})")
        g.add_argument(f"--allow-mass-{kind}", action="store_true", help=f"lift the {kind} limit")
    g.add_argument("--max-fraction", "--max-revocation-fraction", dest="max_fraction", type=float,
                   default=defaults.max_fraction, metavar="F",
                   help=f"per kind, at most this fraction of the managed keys (default {defaults.max_fraction})")
    g.add_argument("--max-changes", type=int, default=defaults.max_changes, metavar="N",
                   help=f"at most N destructive changes of all kinds together (default {defaults.max_changes})")
    g.add_argument("--max-total-fraction", type=float, default=defaults.max_total_fraction, metavar="F",
                   help="all kinds together, at most this fraction of the managed keys "
                        f"(default {defaults.max_total_fraction})")
    g.add_argument("--allow-mass-change", action="store_true", help="lift the limit on the total")


def _limits(args) -> SafetyLimits:
    return SafetyLimits(
        max_revocations=args.max_revocations, max_rotations=args.max_rotations, max_moves=args.max_moves,
        max_prunes=args.max_prunes, max_changes=args.max_changes, max_fraction=args.max_fraction,
        max_total_fraction=args.max_total_fraction, allow_mass_revocation=args.allow_mass_revocation,
        allow_mass_rotation=args.allow_mass_rotation, allow_mass_move=args.allow_mass_move,
        allow_mass_prune=args.allow_mass_prune, allow_mass_change=args.allow_mass_change)


def _store(args):
    if args.key_store == "file":
        return keystore.FileStore(args.key_dir if args.key_dir.is_absolute() else args.root / args.key_dir)
    return keystore.SecretsManagerStore(args.secret_prefix, args.kms_key_id,
                                        service_prefix=args.service_secret_prefix,
                                        service_ids=(plan_mod.VIEWER_ID,),
                                        adopt_unguarded=getattr(args, "adopt_key_secrets", False))


def _client(args):
    return client_mod.AdminClient(args.base_url or "", os.environ.get("LITELLM_MASTER_KEY", ""), timeout=args.timeout,
                       retries=args.retries)


def _today(args) -> dt.date:
    return args.today or dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True)
class PlanRequest:
    """What a plan is asked to do beyond matching the files (the CLI's options)."""

    rotate: frozenset[str] = frozenset()
    adopt: bool = False
    prune_unmanaged: bool = False
    rotation_only: bool = False  # `gatewayctl rotate`: key rotations only, the rest waits for the deploy job

    @classmethod
    def from_args(cls, args) -> PlanRequest:
        return cls(frozenset(args.rotate), args.adopt, args.prune_unmanaged, getattr(args, "rotation_only", False))


def make_plan(args, client, store, request: PlanRequest):
    """The plan for these options, and its review (what it costs, what it read)."""
    from reconciler.scope import ChangedSince
    from reconciler.validate import load_desired

    today = _today(args)
    desired = load_desired(args.root, today=today)
    reader = ChangedSince.of(args.root, getattr(args, "changed_since", None), desired, today, request.rotate)
    if reader.note:
        print(f"note: {reader.note}", file=sys.stderr)
    desired, live = reader.read(client, store, desired, services=(plan_mod.VIEWER_ID,) if args.plan_viewer else ())
    context = plan_mod.PlanContext(today=today, commit=git_commit(args.root), rotate=request.rotate,
                                   adopt=request.adopt, plan_viewer=args.plan_viewer, limits=_limits(args))
    processors = plan_mod.standard(prune_unmanaged=request.prune_unmanaged, rotation_only=request.rotation_only)
    plan = plan_mod.build_plan(desired, live, context, [reader, *processors])
    untagged = getattr(store, "missing_owner_tag", ())
    if untagged:
        plan.warnings.append(f"{len(set(untagged))} key secret(s) lack the {keystore.OWNER_TAG} tag that lets their "
                             "owner read them; apply --confirm adds it")
    return plan_mod.review(plan, desired, live, context, [reader])


def _show_plan(args, request: PlanRequest, *, out: Path | None, detailed_exitcode: bool,
               show_calls: bool) -> int:
    with _client(args) as client:
        store = _store(args)
        reviewed = make_plan(args, client, store, request)
        if show_calls:
            print(f"calls: {client.stats.total} to LiteLLM ({client.stats.by_path}), "
                  f"{getattr(store, 'calls', 0)} to the key store", file=sys.stderr)
    if out:
        with expected_io(f"cannot write {out}"):
            out.write_text(json.dumps(reviewed.to_json(), indent=2, sort_keys=True, default=str) + "\n")
    print(report.render_plan(reviewed, args.format))
    plan = reviewed.plan
    if plan.refused:
        return EXIT_REFUSED
    return EXIT_CHANGES if (plan.has_changes and detailed_exitcode) else EXIT_OK


def cmd_plan(args) -> int:
    return _show_plan(args, PlanRequest.from_args(args), out=args.out, detailed_exitcode=args.detailed_exitcode,
                      show_calls=args.show_calls)


def cmd_drift(args) -> int:
    """A plan that only reports: no rotation asked for, nothing pruned, exit 2 on any drift."""
    return _show_plan(args, PlanRequest(), out=None, detailed_exitcode=True, show_calls=False)


def _read_plan(path: Path):
    with expected_io(f"cannot read the plan {path}"):
        text = path.read_text(encoding="utf-8")
    try:
        return plan_mod.Plan.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise GatewayctlError(f"{path} is not a plan written by `gatewayctl plan --out` ({exc})") from None


def check_saved_plan(saved, fresh) -> str | None:
    """A saved plan is applied only if recomputing it now, from its own inputs, gives exactly its
    actions: nothing edited in the file, nothing changed in users/, policies/ or the gateway since.
    The plan records the safety-limit overrides it was made with only for the audit: the limits
    are checked again on the fresh plan with the flags given to apply."""
    if saved.inputs != {**fresh.inputs, "today": saved.inputs.get("today")}:
        differ = sorted(k for k in {**saved.inputs, **fresh.inputs} if k != "today"
                        and saved.inputs.get(k) != fresh.inputs.get(k))
        return (f"the saved plan was made with other options ({', '.join(differ)}: "
                f"{', '.join(repr(saved.inputs.get(k)) for k in differ)}); give apply the same options")
    if saved.desired_digest != fresh.desired_digest:
        return "the saved plan was made from different users/ or policies/ files; re-run plan"
    if saved.live_digest != fresh.live_digest:
        return "live state changed since the plan was made; re-run plan and review it"
    from reconciler.apply import plan_digest

    if plan_digest(saved) != plan_digest(fresh):
        made_by = (f"; it was made by gatewayctl {saved.tool_version}, this is {fresh.tool_version}"
                   if saved.tool_version != fresh.tool_version else "")
        return ("the saved plan's actions differ from what its inputs give now (edited, or made by another "
                f"version of gatewayctl or on another day{made_by}); re-run plan and review it")
    return None


def cmd_apply(args) -> int:
    from reconciler.apply import (
        DEFAULT_CONCURRENCY,
        Executor,
        append_jsonl,
        apply_lock,
        audit_record,
        read_journal,
    )

    started = time.monotonic()
    channel = _notify_channel(args)
    state_dir = args.root / ".gatewayctl"
    journal = state_dir / "apply-journal.jsonl"
    table = deploystate.table_from(args)
    if getattr(args, "record_converged", False) and table is None:
        raise UsageError("--record-converged needs the state table (--state-table or $GATEWAYCTL_STATE_TABLE)")
    # The shared lock (deploys and rotations on any runner) beside the local one (this checkout).
    shared = table.lock(deploystate.holder_name(), args.wait_lock) if table else contextlib.nullcontext()
    with apply_lock(state_dir / "apply.lock", args.wait_lock), shared, _client(args) as client:
        interrupted = read_journal(journal)
        if interrupted:
            print(f"note: the previous apply was interrupted after {len(interrupted) - 1} action(s); "
                  "its journal goes into this run's audit record, and this plan finishes its work",
                  file=sys.stderr)
        store = _store(args)
        reviewed = make_plan(args, client, store, PlanRequest.from_args(args))
        plan = fresh = reviewed.plan
        if args.plan_file:
            problem = check_saved_plan(_read_plan(args.plan_file), fresh)
            if problem:
                raise GatewayctlError(problem)
            plan = fresh  # identical actions, computed here rather than read from a file
        if plan.refused:
            print(report.text(reviewed))
            return EXIT_REFUSED
        if not args.confirm:
            print(report.text(reviewed))
            print("dry run: nothing was changed; re-run with --confirm to apply", file=sys.stderr)
            return EXIT_OK
        problem = store.write_problem() if any(
            s.op == Op.KEY_CREATE for a in plan.actions for s in a.steps) else None
        if problem:
            raise GatewayctlError(problem)
        if not plan.actions:
            print(report.text(reviewed))
            results = []
        else:
            print(f"applying {len(plan.actions)} action(s) to {client.base_url} "
                  f"(keys to {store.describe()})", file=sys.stderr)
            for warning in plan.warnings:
                print(f"! {warning}", file=sys.stderr)
            executor = Executor(client, store, commit=plan.git_commit, journal=journal)
            executing = time.monotonic()
            results = executor.execute(plan, args.concurrency or DEFAULT_CONCURRENCY, args.member_batch)
            executed_s = round(time.monotonic() - executing, 3)
        writes = client.stats.writes
        record_extra: dict = {}
        _after_apply(args, client, store, record_extra, channel)
        record = audit_record(plan, results, live_digest_before=fresh.live_digest, started=started)
        record["gateway_writes"] = writes
        record["overrides"] = plan.overrides
        if plan.out_of_band:
            record["out_of_band_left"] = [f"{a.kind} {a.target}" for a in plan.out_of_band]
        if plan.actions:
            record["execute_s"] = executed_s  # the apply itself, without reading live state
            record["phases_s"] = executor.phase_s
        record.update(record_extra)
        if interrupted:
            record["interrupted_run"] = interrupted
        audit_log = args.audit_log if args.audit_log.is_absolute() else args.root / args.audit_log
        with expected_io(f"cannot write the audit log {audit_log}"):
            append_jsonl(audit_log, record)
        journal.unlink(missing_ok=True)
        failed = [r for r in results if r.status != "ok"]
        if not failed and getattr(args, "record_converged", False):
            # Still under the lock: the next deploy plans the users changed since this commit.
            table.record_converged(plan.git_commit, deploystate.holder_name())
            print(f"recorded {plan.git_commit[:12]} as the converged commit in {table.table}", file=sys.stderr)
    if plan.out_of_band:
        print(f"note: {len(plan.out_of_band)} out-of-band item(s) left as they are (still drift): "
              + ", ".join(f"{a.kind} {report.plain(a.target)}" for a in plan.out_of_band[:10])
              + ("" if args.prune_unmanaged else "; prunes need --prune-unmanaged"), file=sys.stderr)
    print(f"Apply: {len(results) - len(failed)} ok, {len(failed)} failed, {writes} write(s). "
          f"Audit: {args.audit_log}", file=sys.stderr)
    if failed:
        print("re-run `gatewayctl apply --confirm` to converge", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _notify_channel(args):
    """The notification channel for this run, checked before anything is changed. A setting that is
    missing or wrong is a warning here, not an error: a revocation must not wait for an email."""
    from reconciler import notify

    channel = notify.channel_or_unconfigured(args)
    if channel is not None and args.key_store != "secretsmanager":
        raise UsageError("notifications keep their ledger on the key secrets: use --key-store secretsmanager")
    if isinstance(channel, notify.UnconfiguredChannel):
        print(f"warning: {channel.problem}. The run goes ahead; the notices due are recorded as not delivered "
              "in the audit log and sent by the first run after the setting is fixed", file=sys.stderr)
    return channel


def _after_apply(args, client, store, record: dict, channel) -> None:
    """Housekeeping once the plan is applied; none of it can fail the apply. Owner tags go on key
    secrets that predate them (employee self-service reads by that tag), with --adopt-key-secrets the
    resource policy on those that predate it, then key notices."""
    missing = sorted(set(getattr(store, "missing_owner_tag", ())))
    if missing:
        try:
            store.tag_owners(missing)
            record["owner_tags_added"] = missing
            print(f"tagged {len(missing)} key secret(s) with their owner for self-service", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - reported; the next apply tries again
            print(f"warning: could not tag key secrets with their owner: {redact(str(exc))}", file=sys.stderr)
    if getattr(store, "adopt_unguarded", False):
        try:
            checked, refused = store.guard_listed()
            record["key_secrets_guarded"] = checked
            print(f"{len(checked)} key secret(s) carry gatewayctl's resource policy", file=sys.stderr)
            for reason in refused:
                print(f"warning: {reason}", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - reported; the next apply tries again
            print(f"warning: could not check the key secrets' resource policies: {redact(str(exc))}", file=sys.stderr)
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

    with _client(args) as client:
        live = live_mod.read_live(client, None)
    with expected_io("cannot write to users/"):
        written = write_imports(args.root, live, only_unmanaged=not args.all, overwrite=args.overwrite)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} file(s) written; review owner, cost_center and justification before committing",
          file=sys.stderr)
    return EXIT_OK


def run_arguments(p: argparse.ArgumentParser) -> None:
    """What every command that writes to the gateway takes (apply, rotate)."""
    from reconciler import notify

    p.add_argument("--concurrency", type=int, default=None, help="users applied in parallel (default 4)")
    p.add_argument("--member-batch", type=int, default=100, metavar="N",
                   help="users added to a tier per /team/member_add call (default 100; 1 = one call per user)")
    p.add_argument("--audit-log", type=Path, default=Path("gatewayctl-audit.jsonl"),
                   help="append the audit record here (default gatewayctl-audit.jsonl)")
    p.add_argument("--wait-lock", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another apply to finish instead of refusing (default 0)")
    deploystate.state_table_argument(p)
    notify.add_arguments(p)


def format_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")


def plan_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, help="also write the plan as JSON (input for `apply PLAN`)")
    format_arguments(p)
    p.add_argument("--detailed-exitcode", action="store_true", help="exit 2 when there are changes")
    p.add_argument("--show-calls", action="store_true", help="print the number of API calls made")
    changed_since_argument(p)


def changed_since_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--changed-since", metavar="REF",
                   help="plan only the users whose users/<id>.yaml changed between the git revision REF (the "
                        "last commit deployed) and the working tree (uncommitted and untracked files too), "
                        "plus users with an expiry passed or a budget exception; read only them from LiteLLM "
                        "and the key store, so the cost follows the change, not the gateway's size. Falls back "
                        "to a full plan, saying why, when anything else changed (policies/, schemas/, gateway/, "
                        "reconciler/, ...) or REF is unknown or not an ancestor of HEAD. Access outside git not "
                        "tied to those users is not read: `gatewayctl drift` reads everything")


def apply_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("plan_file", nargs="?", type=Path, metavar="PLAN", help="plan JSON from `plan --out`")
    p.add_argument("--confirm", action="store_true", help="really apply")
    p.add_argument("--record-converged", action="store_true",
                   help="once every planned action succeeded, record this commit in the state table as the one "
                        "the gateway converged to (the deploy's baseline for --changed-since)")
    changed_since_argument(p)


def rotate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--confirm", action="store_true", help="really rotate")


def import_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", action="store_true", help="also users already managed by gatewayctl")
    p.add_argument("--overwrite", action="store_true", help="replace existing users/<id>.yaml files")
