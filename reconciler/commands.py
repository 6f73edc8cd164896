"""The subcommands that read the gateway and change nothing (plan, drift, import), and the plan every
command that talks to the gateway starts from. Their options are in reconciler/options.py; apply and
rotate are in reconciler/applycmd.py; reconciler/cli.py wires them into the command line."""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import EXIT_CHANGES, EXIT_OK, EXIT_REFUSED, expected_io
from reconciler.git import head_commit as git_commit

# The gateway-facing modules (httpx, boto3) load lazily so `gatewayctl validate` stays fast.
from reconciler.lazy import lazy
from reconciler.options import safety_limits as _limits
from reconciler.runctx import RunContext

report = lazy("reconciler.plan.report")
keystore = lazy("reconciler.live.keystore")
live_mod = lazy("reconciler.live.state")
plan_mod = lazy("reconciler.plan")


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


def make_plan(ctx: RunContext, request: PlanRequest):
    """The plan for these options, and its review (what it costs, what it read)."""
    from reconciler.plan.scope import ChangedSince

    args, client, store = ctx.args, ctx.client, ctx.store
    today = _today(args)
    reader = ChangedSince.of(args.root, getattr(args, "changed_since", None), ctx.desired, today, request.rotate)
    if reader.note:
        print(f"note: {reader.note}", file=sys.stderr)
    spend_reader = getattr(args, "spend_reader", False)
    services = tuple(uid for uid, on in ((plan_mod.VIEWER_ID, args.plan_viewer),
                                         (plan_mod.SPEND_READER.user_id, spend_reader)) if on)
    desired, live = reader.read(client, store, ctx.desired, services=services)
    context = plan_mod.PlanContext(today=today, commit=git_commit(args.root), rotate=request.rotate,
                                   adopt=request.adopt, plan_viewer=args.plan_viewer, spend_reader=spend_reader,
                                   limits=_limits(args))
    processors = plan_mod.standard(prune_unmanaged=request.prune_unmanaged, rotation_only=request.rotation_only)
    plan = plan_mod.build_plan(desired, live, context, [reader, *processors])
    untagged = store.missing_owner_tag
    if untagged:
        plan.warnings.append(f"{len(set(untagged))} key secret(s) lack the {keystore.OWNER_TAG} tag that lets their "
                             "owner read them; apply --confirm adds it")
    return plan_mod.review(plan, desired, live, context, [reader])


def _show_plan(args, request: PlanRequest, *, out: Path | None, detailed_exitcode: bool,
               show_calls: bool) -> int:
    with RunContext(args) as ctx:
        reviewed = make_plan(ctx, request)
        if show_calls:
            print_calls(ctx)
    if out:
        write_plan(reviewed, out)
    print(report.render_plan(reviewed, args.format))
    plan = reviewed.plan
    if plan.refused:
        return EXIT_REFUSED
    return EXIT_CHANGES if (plan.has_changes and detailed_exitcode) else EXIT_OK


def print_calls(ctx: RunContext) -> None:
    """--show-calls: what the run asked of LiteLLM (by path) and of the key store."""
    print(f"calls: {ctx.client.stats.total} to LiteLLM ({ctx.client.stats.by_path}), "
          f"{ctx.store.calls} to the key store", file=sys.stderr)


def write_plan(reviewed, out: Path) -> None:
    with expected_io(f"cannot write {out}"):
        out.write_text(json.dumps(reviewed.to_json(), indent=2, sort_keys=True, default=str) + "\n")


def cmd_plan(args) -> int:
    return _show_plan(args, PlanRequest.from_args(args), out=args.out, detailed_exitcode=args.detailed_exitcode,
                      show_calls=args.show_calls)


def cmd_drift(args) -> int:
    """A plan that only reports: no rotation asked for, nothing pruned, exit 2 on any drift."""
    return _show_plan(args, PlanRequest(), out=None, detailed_exitcode=True, show_calls=False)


def cmd_import(args) -> int:
    from reconciler.live.importer import write_imports

    with RunContext(args) as ctx:
        live = live_mod.read_live(ctx.client, None)
    with expected_io("cannot write to users/"):
        written = write_imports(args.root, live, only_unmanaged=not args.all, overwrite=args.overwrite)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} file(s) written; review owner, cost_center and justification before committing",
          file=sys.stderr)
    return EXIT_OK
