"""`gatewayctl apply` and `gatewayctl rotate`: plan afresh under the locks, check a saved plan against it,
apply, write one audit record, then the housekeeping of reconciler/notifications/upkeep.py. With --out and --report the
plan that was applied is saved too, so the deploy plans and applies in one step (one read of the gateway)."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.apply import deploystate
from reconciler.commands import PlanRequest, make_plan, print_calls, report, write_plan
from reconciler.errors import EXIT_ERROR, EXIT_OK, EXIT_REFUSED, GatewayctlError, UsageError, expected_io
from reconciler.notifications import upkeep
from reconciler.plan.steps import Op
from reconciler.runctx import RunContext


def _read_plan(path: Path):
    from reconciler.plan import Plan

    with expected_io(f"cannot read the plan {path}"):
        text = path.read_text(encoding="utf-8")
    try:
        return Plan.from_json(json.loads(text))
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
    from reconciler.apply.executor import plan_digest

    if plan_digest(saved) != plan_digest(fresh):
        made_by = (f"; it was made by gatewayctl {saved.tool_version}, this is {fresh.tool_version}"
                   if saved.tool_version != fresh.tool_version else "")
        return ("the saved plan's actions differ from what its inputs give now (edited, or made by another "
                f"version of gatewayctl or on another day{made_by}); re-run plan and review it")
    return None


@dataclass
class Executed:
    """What executing a plan did: per-action results, gateway writes, and for the audit its timings."""

    results: list = field(default_factory=list)
    writes: int = 0
    timings: dict = field(default_factory=dict)

    @property
    def failed(self) -> list:
        return [r for r in self.results if r.status != "ok"]


def _fresh_plan(ctx: RunContext):
    """The plan made now, under the locks, with its review; a saved plan (PLAN) only if it is exactly this one."""
    reviewed = make_plan(ctx, PlanRequest.from_args(ctx.args))
    if ctx.args.plan_file:
        problem = check_saved_plan(_read_plan(ctx.args.plan_file), reviewed.plan)
        if problem:
            raise GatewayctlError(problem)
    out, markdown = getattr(ctx.args, "out", None), getattr(ctx.args, "report", None)
    if out:
        write_plan(reviewed, out)  # what is applied, for the deploy's artifact
    if markdown:
        with expected_io(f"cannot write {markdown}"):
            markdown.write_text(report.render_plan(reviewed, "markdown") + "\n", encoding="utf-8")
    return reviewed


def _execute(ctx: RunContext, reviewed, journal: Path) -> Executed:
    from reconciler.apply.executor import DEFAULT_CONCURRENCY, Executor

    client, store, plan = ctx.client, ctx.store, reviewed.plan
    problem = store.write_problem() if any(s.op == Op.KEY_CREATE for a in plan.actions for s in a.steps) else None
    if problem:
        raise GatewayctlError(problem)
    if not plan.actions:
        print(report.text(reviewed))
        return Executed(writes=client.stats.writes)
    print(f"applying {len(plan.actions)} action(s) to {client.base_url} (keys to {store.describe()})", file=sys.stderr)
    for warning in plan.warnings:
        print(f"! {warning}", file=sys.stderr)
    executor = Executor(client, store, commit=plan.git_commit, journal=journal)
    executing = time.monotonic()
    results = executor.execute(plan, ctx.args.concurrency or DEFAULT_CONCURRENCY, ctx.args.member_batch)
    # the apply itself, without reading live state
    timings = {"execute_s": round(time.monotonic() - executing, 3), "phases_s": executor.phase_s}
    return Executed(results, client.stats.writes, timings)


def _audit_record(ctx: RunContext, reviewed, done: Executed, *, started: float, channel) -> dict:
    from reconciler.apply.executor import audit_record

    plan, extra = reviewed.plan, {}
    upkeep.after_apply(ctx, reviewed, done.results, extra, channel)
    record = audit_record(plan, done.results, live_digest_before=plan.live_digest, started=started)
    record["gateway_writes"] = done.writes
    record["overrides"] = plan.overrides
    if plan.out_of_band:
        record["out_of_band_left"] = [f"{a.kind} {a.target}" for a in plan.out_of_band]
    record.update(done.timings)
    record.update(extra)
    if getattr(ctx.args, "approvals", None):  # who approved each grant this deploy put live
        from reconciler.history.evidence import captured_for

        record["approvals"] = captured_for(ctx.root, plan, ctx.under_root(ctx.args.approvals))
    record["command"] = "rotate" if getattr(ctx.args, "rotation_only", False) else "apply"
    return record


def _state_table(args):
    table = deploystate.table_from(args)
    if getattr(args, "record_converged", False) and table is None:
        raise UsageError("--record-converged needs the state table (--state-table or $GATEWAYCTL_STATE_TABLE)")
    return table


def cmd_apply(args) -> int:
    from reconciler.apply.executor import apply_lock, read_journal

    started = time.monotonic()
    channel = upkeep.notify_channel(args)
    state_dir = args.root / ".gatewayctl"
    journal = state_dir / "apply-journal.jsonl"
    table = _state_table(args)
    # The shared lock (deploys and rotations on any runner) beside the local one (this checkout).
    shared = table.lock(deploystate.holder_name(), args.wait_lock) if table else contextlib.nullcontext()
    with apply_lock(state_dir / "apply.lock", args.wait_lock), shared, RunContext(args) as ctx:
        interrupted = read_journal(journal)
        if interrupted:
            print(f"note: the previous apply was interrupted after {len(interrupted) - 1} action(s); "
                  "its journal goes into this run's audit record, and this plan finishes its work",
                  file=sys.stderr)
        reviewed = _fresh_plan(ctx)
        plan = reviewed.plan
        if plan.refused or not args.confirm:
            return _not_applied(reviewed)
        done = _execute(ctx, reviewed, journal)
        record = _audit_record(ctx, reviewed, done, started=started, channel=channel)
        if interrupted:
            record["interrupted_run"] = interrupted
        ctx.audit.append(record)
        journal.unlink(missing_ok=True)
        if getattr(args, "show_calls", False):
            print_calls(ctx)
        if not done.failed and getattr(args, "record_converged", False):
            # Still under the lock: the next deploy plans the users changed since this commit.
            table.record_converged(plan.git_commit, deploystate.holder_name())
            print(f"recorded {plan.git_commit[:12]} as the converged commit in {table.table}", file=sys.stderr)
    return _summary(args, plan, done)


def _not_applied(reviewed) -> int:
    print(report.text(reviewed))
    if reviewed.plan.refused:
        return EXIT_REFUSED
    print("dry run: nothing was changed; re-run with --confirm to apply", file=sys.stderr)
    return EXIT_OK


def _summary(args, plan, done: Executed) -> int:
    if plan.out_of_band:
        print(f"note: {len(plan.out_of_band)} out-of-band item(s) left as they are (still drift): "
              + ", ".join(f"{a.kind} {report.plain(a.target)}" for a in plan.out_of_band[:10])
              + ("" if args.prune_unmanaged else "; prunes need --prune-unmanaged"), file=sys.stderr)
    print(f"Apply: {len(done.results) - len(done.failed)} ok, {len(done.failed)} failed, {done.writes} write(s). "
          f"Audit: {args.audit_log}", file=sys.stderr)
    if done.failed:
        print("re-run `gatewayctl apply --confirm` to converge", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK
