"""gatewayctl: validate, plan and apply LiteLLM users and tiers from this repository."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from reconciler import __version__
from reconciler.diagnostics import InputError, render

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_REFUSED = 0, 1, 2, 3

EPILOG = """\
exit codes: 0 ok / no changes, 1 error or invalid input, 2 changes pending (plan/drift with
--detailed-exitcode), 3 refused by a safety limit.
environment: LITELLM_BASE_URL, LITELLM_MASTER_KEY name the gateway; AWS_REGION, AWS_ENDPOINT_URL
and the usual AWS_* variables reach Secrets Manager. Run from the repository root or pass --root.
"""


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
    from reconciler.validate import check

    base_users = None
    if args.base:
        from reconciler.history import HistoryError, users_at

        try:
            base_users = users_at(args.root, args.base)
        except HistoryError as exc:
            print(f"error: --base {args.base}: {exc}", file=sys.stderr)
            return EXIT_ERROR
    diags, state = check(args.root, today=args.today or dt.datetime.now(dt.UTC).date(), base_users=base_users)
    out = render(diags, args.format)
    if out:
        print(out)
    if state is not None and args.format == "text":
        print(f"ok: {len(state.users)} users, {len(state.tiers)} tiers, {len(state.models)} models",
              file=sys.stderr)
    return EXIT_OK if state is not None else EXIT_ERROR


def cmd_render_config(args: argparse.Namespace) -> int:
    from reconciler import render as renderer
    from reconciler.validate import CONFIG_FILE, check

    diags, state = check(args.root, today=args.today, allow_expired=True, check_config=False)
    if state is None:
        print(render(diags, "text"), file=sys.stderr)
        return EXIT_ERROR
    text = renderer.render_config(state.region, state.models)
    target = args.root / CONFIG_FILE
    if args.check:
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            print(f"{CONFIG_FILE} is stale; run `gatewayctl render-config`", file=sys.stderr)
            return EXIT_ERROR
        return EXIT_OK
    tmp = target.with_suffix(".yaml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    print(f"wrote {CONFIG_FILE}", file=sys.stderr)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gatewayctl", description=__doc__, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check users/ and policies/ (schema + rules), print file:line:col errors",
                       description="Validate users/*.yaml, policies/*.yaml and gateway/config.yaml. "
                       "Errors are path:line:col: message [rule], warnings path:line:col: warning: message "
                       "[rule]. Exit 0 when valid (warnings allowed), 1 when not.")
    _common(p)
    p.add_argument("--base", metavar="GIT_REF", default=None,
                   help="the revision this change is compared with, e.g. a pull request's base (origin/main). "
                        "A grant whose expiry date has passed is then an error if this change adds or alters it; "
                        "otherwise it is a warning, because the next deploy revokes it")
    p.add_argument("--format", choices=("text", "json", "github"), default="text",
                   help="text (default), json, or github workflow annotations")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("render-config", help="regenerate gateway/config.yaml from policies/models.yaml",
                       description="Write gateway/config.yaml from policies/models.yaml (the single source "
                       "of alias -> Bedrock model mapping).")
    _common(p)
    p.add_argument("--check", action="store_true", help="only check that the file is up to date")
    p.set_defaults(func=cmd_render_config)

    from reconciler import commands

    commands.register(sub, _common)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:  # invalid users/ or policies/: never plan from them
        fmt = getattr(args, "format", "text")
        print(render(exc.diagnostics, fmt if fmt in ("json", "github") else "text"), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
