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

report = lazy("reconciler.report")
keystore = lazy("reconciler.keystore")
live_mod = lazy("reconciler.live")
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
    args, client, store = ctx.args, ctx.client, ctx.store
    desired = ctx.desired
    services = (plan_mod.VIEWER_ID,) if args.plan_viewer else ()
    scope, note, scoped = _scope_of(args, desired, request)
    if scoped is None:
        live = live_mod.read_live(client, store, services=services)
        keys_outside = 0
    else:
        desired, ids, keys_outside = scoped
        live = live_mod.read_live_scoped(client, store, ids, services=services)
    plan = plan_mod.build_plan(desired, live, today=_today(args), commit=git_commit(args.root),
                               rotate=request.rotate, limits=_limits(args), adopt=request.adopt,
                               plan_viewer=args.plan_viewer, prune_unmanaged=request.prune_unmanaged,
                               rotation_only=request.rotation_only, keys_outside=keys_outside)
    if scope is not None:
        plan.inputs["changed_since"] = scope.commit or scope.ref
        plan.scope = {**scope.to_json(), "note": note}
        if scoped is not None and plan.finops is not None:
            plan.finops["scoped"] = True  # cost-center totals would count only the users read
    untagged = store.missing_owner_tag
    if untagged:
        plan.warnings.append(f"{len(set(untagged))} key secret(s) lack the {keystore.OWNER_TAG} tag that lets their "
                             "owner read them; apply --confirm adds it")
    return plan


def _scope_of(args, desired, request: PlanRequest):
    """For `--changed-since REF`: (the Scope, its one-line note, then either (the desired state cut to
    the users in scope, their ids (also those whose file is gone), the managed keys of everyone
    else) or None for a full plan). Without the option: (None, None, None).

    Besides the users whose files changed, the scope holds users whose grant changes with the date
    alone (expired, or with a budget exception: the plan's date decides what they get) and users
    named by --rotate. Everyone else was converged by the deploy of REF, one managed key each: that
    count stands in for their keys in the safety limits' population."""
    from dataclasses import replace

    from reconciler import scope as scope_mod

    if not getattr(args, "changed_since", None):
        return None, None, None
    found = scope_mod.changed_since(args.root, args.changed_since)
    if not found.scoped:
        print(f"note: {found.note()}", file=sys.stderr)
        return found, found.note(), None
    today = _today(args)
    dated = {uid for uid, u in desired.users.items() if u.expired(today) or u.budget_exception is not None}
    ids = set(found.users or ()) | dated | set(request.rotate)
    note = found.note(extra=len(dated - set(found.users or ())))
    print(f"note: {note}", file=sys.stderr)
    outside = sum(1 for uid, u in desired.users.items() if uid not in ids and not u.expired(today))
    cut = replace(desired, users={uid: u for uid, u in desired.users.items() if uid in ids})
    return found, note, (cut, frozenset(ids), outside)


def _show_plan(args, request: PlanRequest, *, out: Path | None, detailed_exitcode: bool,
               show_calls: bool) -> int:
    with RunContext(args) as ctx:
        plan = make_plan(ctx, request)
        if show_calls:
            print_calls(ctx)
    if out:
        write_plan(plan, out)
    print(report.render_plan(plan, args.format))
    if plan.refused:
        return EXIT_REFUSED
    return EXIT_CHANGES if (plan.has_changes and detailed_exitcode) else EXIT_OK


def print_calls(ctx: RunContext) -> None:
    """--show-calls: what the run asked of LiteLLM (by path) and of the key store."""
    print(f"calls: {ctx.client.stats.total} to LiteLLM ({ctx.client.stats.by_path}), "
          f"{ctx.store.calls} to the key store", file=sys.stderr)


def write_plan(plan, out: Path) -> None:
    with expected_io(f"cannot write {out}"):
        out.write_text(json.dumps(plan.to_json(), indent=2, sort_keys=True, default=str) + "\n")


def cmd_plan(args) -> int:
    return _show_plan(args, PlanRequest.from_args(args), out=args.out, detailed_exitcode=args.detailed_exitcode,
                      show_calls=args.show_calls)


def cmd_drift(args) -> int:
    """A plan that only reports: no rotation asked for, nothing pruned, exit 2 on any drift."""
    return _show_plan(args, PlanRequest(), out=None, detailed_exitcode=True, show_calls=False)


def cmd_import(args) -> int:
    from reconciler.importer import write_imports

    with RunContext(args) as ctx:
        live = live_mod.read_live(ctx.client, None)
    with expected_io("cannot write to users/"):
        written = write_imports(args.root, live, only_unmanaged=not args.all, overwrite=args.overwrite)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} file(s) written; review owner, cost_center and justification before committing",
          file=sys.stderr)
    return EXIT_OK


