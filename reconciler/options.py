"""The options of the commands that talk to the gateway (plan, apply, rotate, drift, import); cli.py
wires them to the commands in reconciler/commands.py."""

from __future__ import annotations

import argparse
from pathlib import Path

from reconciler import runctx
from reconciler.apply import deploystate
from reconciler.plan.limits import SafetyLimits


def gateway_arguments(p: argparse.ArgumentParser) -> None:
    runctx.connection_arguments(p)
    runctx.key_store_arguments(p)
    p.add_argument("--rotate", action="append", default=[], metavar="USER_ID",
                   help="issue a new key for this user and revoke the old one (repeatable)")
    p.add_argument("--plan-viewer", action="store_true",
                   help="also manage the read-only proxy_admin_viewer key PR plans use, stored as "
                        "<service-secret-prefix>gatewayctl-plan-viewer (without this flag that key is ignored)")
    p.add_argument("--spend-reader", action="store_true",
                   help="also manage the proxy_admin_viewer key the monthly chargeback (`gatewayctl report`) uses, "
                        "limited to /spend/logs/v2 and stored as <service-secret-prefix>gatewayctl-spend-reader "
                        "(without this flag that key is ignored)")


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


def safety_limits(args) -> SafetyLimits:
    return SafetyLimits(
        max_revocations=args.max_revocations, max_rotations=args.max_rotations, max_moves=args.max_moves,
        max_prunes=args.max_prunes, max_changes=args.max_changes, max_fraction=args.max_fraction,
        max_total_fraction=args.max_total_fraction, allow_mass_revocation=args.allow_mass_revocation,
        allow_mass_rotation=args.allow_mass_rotation, allow_mass_move=args.allow_mass_move,
        allow_mass_prune=args.allow_mass_prune, allow_mass_change=args.allow_mass_change)


def run_arguments(p: argparse.ArgumentParser) -> None:
    """What every command that writes to the gateway takes (apply, rotate)."""
    from reconciler.notifications import notify

    p.add_argument("--concurrency", type=int, default=None, help="users applied in parallel (default 4)")
    p.add_argument("--member-batch", type=int, default=100, metavar="N",
                   help="users added to a tier per /team/member_add call (default 100; 1 = one call per user)")
    runctx.audit_log_argument(p, "append the audit record here (default gatewayctl-audit.jsonl)")
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
    p.add_argument("--out", type=Path, metavar="FILE", help="also write the plan this run applies as JSON")
    p.add_argument("--report", type=Path, metavar="FILE", help="also write that plan as markdown (a job summary)")
    p.add_argument("--show-calls", action="store_true", help="print the number of API calls made")
    p.add_argument("--approvals", type=Path, metavar="FILE",
                   help="the approvals scripts/ci/fetch-approvals fetched from GitHub: the audit record then stores "
                        "the approving reviews of the pull request behind each grant this apply creates or changes "
                        "(what is missing is recorded, never fatal)")
    p.add_argument("--record-converged", action="store_true",
                   help="once every planned action succeeded, record this commit in the state table as the one "
                        "the gateway converged to (the deploy's baseline for --changed-since)")
    changed_since_argument(p)


def rotate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--confirm", action="store_true", help="really rotate")


def import_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", action="store_true", help="also users already managed by gatewayctl")
    p.add_argument("--overwrite", action="store_true", help="replace existing users/<id>.yaml files")
