"""`gatewayctl` of the small package: whoami, me and key show, nothing that needs a checkout or the
gateway's admin API. The full gatewayctl (reconciler/cli.py) registers the same commands with the same
arguments, adding what a checkout knows (users/, policies/)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from gatewayctl_me import contract
from gatewayctl_me.selfservice import (
    USER_ENV,
    Me,
    SelfServiceError,
    describe,
    locate,
    read_key,
    render_key,
    render_usage,
    tags_of,
    usage_from_tags,
)


def whoami_lines(me: Me) -> list[str]:
    return [f"AWS identity:  {me.arn}", f"gateway user:  {me.user_id} (users/{me.user_id}.yaml)"]


def me_lines(me: Me, now: dt.datetime | None = None) -> list[str]:
    """`gatewayctl me`: you, your tier and your month, from your key secret's tags."""
    tags = tags_of(describe(me))
    return [f"gateway user:  {me.user_id}", *render_usage(usage_from_tags(tags), now or dt.datetime.now(dt.UTC))]


def key_show(me: Me, args: argparse.Namespace) -> None:
    if args.reveal:
        sys.stdout.write(read_key(me, previous=args.previous) + "\n")
    else:
        print("\n".join(render_key(me, describe(me))))


def identity_arguments(p: argparse.ArgumentParser, region_default: str = "$AWS_REGION or your AWS profile's") -> None:
    p.add_argument("--user", metavar="ID", help=f"your gateway user id (default: ${USER_ENV}, else from your AWS "
                   "session name)")
    p.add_argument("--region", help=f"AWS region of the key secrets (default: {region_default})")
    p.add_argument("--secret-prefix", default=contract.DEFAULT_PREFIX, help=f"default {contract.DEFAULT_PREFIX}")


def key_show_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--me", action="store_true", help="the key of the user your AWS identity maps to")
    p.add_argument("--reveal", action="store_true", help="print the key itself to stdout")
    p.add_argument("--previous", action="store_true",
                   help="the previous key (AWSPREVIOUS), which works until its overlap window ends after a rotation")


ME_HELP = "your tier, model, this month's spend and budget, the reset date and when your key rotates"
ME_DESCRIPTION = ("Read your key secret's description with your own AWS session: the nightly job writes your month "
                  "there (spend, budget, reset date, key rotation), and AWS lets only you read it.")
KEY_SHOW_DESCRIPTION = ("Show your key secret's name and when it last changed. The key is printed only with --reveal, "
                        "to stdout alone (in CI only to a terminal). AWS allows it only for your own secret.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gatewayctl", description="LLM gateway self-service: your key and your "
                                     "month, from your AWS session (gatewayctl-me: no checkout needed).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, helptext, func in (("whoami", "your gateway user and key secret, from your AWS identity", _whoami),
                                 ("me", ME_HELP, _me)):
        p = sub.add_parser(name, help=helptext, description=ME_DESCRIPTION if name == "me" else helptext)
        identity_arguments(p)
        p.set_defaults(func=func)
    key = sub.add_parser("key", help="your own key: `gatewayctl key show --me [--reveal]`")
    show = key.add_subparsers(dest="key_command", required=True, metavar="SUBCOMMAND").add_parser(
        "show", help="where your key is, and with --reveal the key itself", description=KEY_SHOW_DESCRIPTION)
    identity_arguments(show)
    key_show_arguments(show)
    show.set_defaults(func=_key_show)
    return parser


def _me_of(args: argparse.Namespace) -> Me:
    return locate(args.user, args.region, args.secret_prefix)


def _whoami(args: argparse.Namespace) -> None:
    me = _me_of(args)
    print("\n".join([*whoami_lines(me), f"key secret:    {me.secret} (region {me.region or 'of your profile'})"]))


def _me(args: argparse.Namespace) -> None:
    print("\n".join(me_lines(_me_of(args))))


def _key_show(args: argparse.Namespace) -> None:
    if not args.me and not args.user:
        raise SelfServiceError("say whose key: --me (from your AWS identity) or --user ID")
    key_show(_me_of(args), args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except SelfServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
