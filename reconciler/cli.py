"""gatewayctl: validate, plan and apply LiteLLM users and tiers from this repository."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import reconciler
from reconciler import applycmd, commands, options
from reconciler.apply import deploystate
from reconciler.collector import fewer_collections
from reconciler.desired import policy_diff
from reconciler.desired.diagnostics import InputError, render
from reconciler.directory import command as directory_check
from reconciler.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, GatewayctlError, expected_io
from reconciler.finops import chargeback
from reconciler.history import access_cmd, approvals
from reconciler.history import log as history
from reconciler.live import preflight
from reconciler.notifications import budget_alerts_cmd
from reconciler.plan import guardrail_changes
from reconciler.selfservice import employee as selfservice
from reconciler.selfservice import publish as usage

EPILOG = """\
exit codes: 0 ok / no changes, 1 error or invalid input, 2 changes pending (plan/drift with
--detailed-exitcode), 3 refused by a safety limit.
environment: LITELLM_BASE_URL, LITELLM_MASTER_KEY name the gateway; AWS_REGION, AWS_ENDPOINT_URL
and the usual AWS_* variables reach Secrets Manager. Run from the repository root or pass --root.
"""

Handler = Callable[[argparse.Namespace], int]
Arguments = Callable[[argparse.ArgumentParser], None]


class _Version(argparse.Action):
    """--version: the installed package's version, read only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show gatewayctl's version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog} {reconciler.__version__}")
        parser.exit()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", type=Path, default=Path("."),
                   help="repository root holding users/, policies/, schemas/ (default: .)")
    p.add_argument("--today", type=_date, default=None, metavar="YYYY-MM-DD",
                   help="the date gatewayctl runs as: user expiry and key age for rotation (default: today, UTC)")


def cmd_validate(args: argparse.Namespace) -> int:
    from reconciler.desired.validate import check

    base_users = None
    if args.base:
        from reconciler.history.log import HistoryError, users_at

        try:
            base_users = users_at(args.root, args.base)
        except HistoryError as exc:
            raise GatewayctlError(f"--base {args.base}: {exc}") from None
    diags, state = check(args.root, today=args.today or dt.datetime.now(dt.UTC).date(), base_users=base_users)
    out = render(diags, args.format)
    if out:
        print(out)
    if state is not None and args.format == "text":
        print(f"ok: {len(state.users)} users, {len(state.tiers)} tiers, {len(state.models)} models",
              file=sys.stderr)
    return EXIT_OK if state is not None else EXIT_ERROR


def _validate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base", metavar="GIT_REF", default=None,
                   help="the revision this change is compared with, e.g. a pull request's base (origin/main). "
                        "A grant whose expiry date has passed is then an error if this change adds or alters it; "
                        "otherwise it is a warning, because the next deploy revokes it")
    p.add_argument("--format", choices=("text", "json", "github"), default="text",
                   help="text (default), json, or github workflow annotations")


def cmd_render_config(args: argparse.Namespace) -> int:
    from reconciler.desired import render as renderer
    from reconciler.desired.guardrails import model_tiers
    from reconciler.desired.validate import CONFIG_FILE, check, read_config

    diags, state = check(args.root, today=args.today, allow_expired=True, check_config=False)
    if state is None:
        raise InputError(diags)
    text = renderer.render_config(state.region, state.models, model_tiers(state.tiers))
    target = args.root / CONFIG_FILE
    if args.check:
        if read_config(args.root) != text:
            raise GatewayctlError(f"{CONFIG_FILE} is stale; run `gatewayctl render-config`")
        return EXIT_OK
    tmp = target.with_suffix(".yaml.tmp")
    with expected_io(f"cannot write {CONFIG_FILE}"):
        tmp.unlink(missing_ok=True)  # a file (or link) left there is replaced, never written through
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        tmp.replace(target)
    print(f"wrote {CONFIG_FILE}", file=sys.stderr)
    return EXIT_OK


def _render_config_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--check", action="store_true", help="only check that the file is up to date")


Command = Callable[..., argparse.ArgumentParser]


def _adder(into) -> Command:
    """A function that adds one subcommand to `into`: its name, the function that runs it, the options
    it takes (besides --root and --today) and what it says about itself."""

    def command(name: str, handler: Handler, arguments: Iterable[Arguments], *, help: str,
                description: str | None = None, **defaults) -> argparse.ArgumentParser:
        p = into.add_parser(name, help=help, description=description or help)
        _common(p)
        for add in arguments:
            add(p)
        p.set_defaults(func=handler, **defaults)
        return p

    return command


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand, in the order --help lists them. The one place where commands are wired."""
    parser = argparse.ArgumentParser(
        prog="gatewayctl", description=__doc__, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command = _adder(sub)
    _gateway_commands(command)
    _side_commands(command)
    _self_service_commands(sub)
    return parser


def _gateway_commands(command: Command) -> None:
    gateway, limits = options.gateway_arguments, options.limit_arguments
    command("validate", cmd_validate, [_validate_arguments],
            help="check users/ and policies/ (schema + rules), print file:line:col errors",
            description="Validate users/*.yaml, policies/*.yaml and gateway/config.yaml. Errors are "
            "path:line:col: message [rule], warnings path:line:col: warning: message [rule]. Exit 0 when "
            "valid (warnings allowed), 1 when not.")
    command("render-config", cmd_render_config, [_render_config_arguments],
            help="regenerate gateway/config.yaml from policies/models.yaml",
            description="Write gateway/config.yaml from policies/models.yaml (the single source of alias -> "
            "Bedrock model mapping).")
    command("plan", commands.cmd_plan, [gateway, limits, options.plan_arguments, options.adopt_arguments],
            help="diff users/ and policies/ against the gateway; print the actions",
            description="Read live state (paged list endpoints) and print what apply would do: create, update "
            "(field: old -> new), move tier, rotate, revoke.")
    command("apply", applycmd.cmd_apply,
            [gateway, limits, options.apply_arguments, options.adopt_arguments, options.run_arguments],
            help="make the gateway match users/ and policies/ (dry run without --confirm)",
            description="Apply a fresh plan, or a saved one (refused if live state changed since). Without "
            "--confirm nothing is changed. Appends one JSON line to the audit log.")
    command("rotate", applycmd.cmd_apply, [gateway, limits, options.rotate_arguments, options.run_arguments],
            help="nightly job: rotate keys past their tier's key_max_age_days (dry run without --confirm)",
            description="Apply only key rotations: keys older than their tier's key_max_age_days get a successor "
            "(the old key keeps working for key_rotation_overlap_days, then LiteLLM refuses it), keys whose "
            "overlap window ended are deleted, and a key missing from the key store is replaced. Also, once a "
            "tier move's carried-over spend has reached its monthly reset, the member goes back on the tier's "
            "budget (end-carry): a deploy reads only the users its commit changed. Every other "
            "difference is left for `gatewayctl apply` (the deploy job). Takes the same lock and writes the same "
            "audit record as apply. Rotations and deletions of retired keys count toward the rotation and total "
            "safety limits; scheduled ones beyond them wait for the next runs instead of refusing the run.",
            rotation_only=True, plan_file=None, adopt=False, prune_unmanaged=False)
    command("drift", commands.cmd_drift, [gateway, limits, options.format_arguments],
            help="report-only plan for nightly jobs: exit 0 in sync, 2 drift, 1 error")
    command("import", commands.cmd_import, [gateway, options.import_arguments],
            help="write users/<id>.yaml for users that exist only in LiteLLM (no secrets)")


def _side_commands(command: Command) -> None:
    command("history", history.cmd_history, [history.arguments],
            help="access history of one user from git (who changed what, when, in which PR)",
            description="Print every commit that touched users/USER_ID.yaml: date, commit, author, PR number and "
            "what changed in the grant (created, tier/owner/expiry changed, removed). Reads git only; needs the "
            "full history (fetch-depth: 0 in CI).")
    command("access", access_cmd.cmd_access, [access_cmd.arguments],
            help="who could call a model (or use a tier) on a date or in a range: grant, when it went live, who "
                 "approved it, what they spent",
            description="Every user who could call --model ALIAS (or use --tier KEY) at some time of the day "
            "(--at) or days (--from/--to), Asia/Kolkata: the grant as in git then (tier, budget, expiry, budget "
            "exception; policies/tiers.yaml as of the same commit), when a deploy made it live (from the apply "
            "audit records given with --evidence), who approved the pull request (captured in those records at "
            "deploy), and what the user spent in the window under that grant (LiteLLM's spend logs, when "
            "--base-url and $LITELLM_MASTER_KEY are given). The git part works offline; every other column says "
            "why it is empty when its source is missing. Needs the full history (fetch-depth: 0 in CI).")
    command("check-approvals", approvals.cmd_check_approvals, [approvals.arguments],
            help="pull-request check: each grant change has its owner's approval (tier files: a code owner's)",
            description="Fail when the pull request adds users/<id>.yaml or changes its tier, budget_exception, "
            "expires or owner without an approval, on its latest push, from the user's owner (mapped to GitHub "
            "logins in policies/approvers.yaml), or changes policies/tiers.yaml or policies/approvers.yaml without "
            "a code owner's (.github/CODEOWNERS). The author's own approval never counts. Rules come from the "
            "checkout it runs in (the base branch); the pull request's files are read only as data (--proposed). "
            "Reads no network: the reviews come from --pull-request (scripts/ci/pr-reviews).")
    command("guardrails", guardrail_changes.run, [guardrail_changes.arguments],
            help="the tiers' guardrail changes since --base, as markdown (the PR comment's section)",
            description=guardrail_changes.__doc__.split("\n\n")[0])
    command("report", chargeback.run_report, [chargeback.arguments],
            help="chargeback of a month or of days: spend per cost center, owner, tier, user or model, from git",
            description="Read every spend-log row of the period from LiteLLM (/spend/logs/v2, paged by time window, "
            "streamed in bounded memory; rotated and revoked keys included) and attribute each to the grant in "
            "force for its user at the time of the call, from the git history of users/ (needs the full history). "
            "Prints totals per group that add up to the gateway total (any rounding difference is shown), each "
            "user's budget utilisation, users at or above 80%, and tier totals against each tier's aggregate cap.")
    command("price-review", policy_diff.run, [policy_diff.arguments],
            help="per tier, the model prices before and after a change of policies/ (markdown, for the PR comment)",
            description=policy_diff.__doc__.split("\n\n")[0])
    command("notify", budget_alerts_cmd.run, [budget_alerts_cmd.arguments],
            help="budget alerts: email members (owner in copy) at their tier's thresholds (dry run without "
                 "--confirm)", description=budget_alerts_cmd.DESCRIPTION)
    command("publish-usage", usage.run, [usage.arguments],
            help="nightly: write each member's month (spend, budget, reset, key rotation) onto their key secret, "
                 "where only they can read it (dry run without --confirm)", description=usage.DESCRIPTION)
    command("preflight", preflight.run, [preflight.arguments],
            help="per model in policies/models.yaml: can this AWS account call it (agreement, authorisation, "
                 "region)? Asks Bedrock's control plane; calls no model", description=preflight.DESCRIPTION)
    command("directory-check", directory_check.run, [directory_check.arguments],
            help="nightly: users/ against IAM Identity Center (gone, disabled, not in the group, no file, email); "
                 "exit 0 same, 2 differs, 3 refused", description=directory_check.DESCRIPTION)
    command("whoami", selfservice.cmd_whoami, [selfservice.identity_arguments],
            help="your gateway user, tier and key secret, from your AWS identity",
            description="Map your AWS identity (its session name: your sign-in email) to your users/<id>.yaml "
            "and show your tier, model and where your key is.")
    command("me", selfservice.cmd_me, [selfservice.identity_arguments], help=selfservice.small.ME_HELP,
            description=selfservice.small.ME_DESCRIPTION)
    command("lock", deploystate.cmd_lock, [deploystate.lock_arguments],
            help="run a command holding the gateway lock that deploys and rotations share (CI)",
            description="Take the gateway lock in the reconciler's DynamoDB table (a conditional write; a lock "
            "whose lease ran out is taken over), run COMMAND, release it. apply and rotate inside it use it "
            "instead of taking it again.")
    command("converged", deploystate.cmd_converged, [deploystate.converged_arguments],
            help="print the commit the last complete deploy converged the gateway to (CI's --changed-since)",
            description="Read the commit `gatewayctl apply --record-converged` recorded in the reconciler's "
            "DynamoDB table. Exit 1 when none is recorded.")


def _self_service_commands(sub) -> None:
    key = sub.add_parser("key", help="your own key: `gatewayctl key show --me [--reveal]`",
                         description="Employee self-service for your gateway key.")
    key_sub = key.add_subparsers(dest="key_command", required=True, metavar="SUBCOMMAND")
    _adder(key_sub)("show", selfservice.cmd_key_show, [selfservice.identity_arguments, selfservice.key_show_arguments],
            help="where your key is, and with --reveal the key itself",
            description="Show your key secret's name and when it last changed. The key is printed only with "
            "--reveal, to stdout alone (in CI only to a terminal), e.g. export ANTHROPIC_AUTH_TOKEN=\"$(gatewayctl key "
            "show --me --reveal)\". AWS allows it only for your own secret (its gitops_user_id tag must equal "
            "your session tag).")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with fewer_collections():
            return args.func(args)
    except InputError as exc:  # invalid users/ or policies/: never plan from them
        fmt = getattr(args, "format", "text")
        print(render(exc.diagnostics, fmt if fmt in ("json", "github") else "text"), file=sys.stderr)
        return exc.exit_code
    except GatewayctlError as exc:  # expected: the message says what to do; anything else is a bug
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
