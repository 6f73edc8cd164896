"""Employee self-service in the full gatewayctl: `whoami`, `me` and `key show --me`.

The AWS side (who you are, your key, your month) is gatewayctl_me's (clients/gatewayctl-me), the small
package an employee installs without a checkout; this module adds what a checkout knows: your id from
users/*.yaml by your session name (your sign-in email), the region from policies/models.yaml, and your
tier's details for whoami.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from gatewayctl_me import cli as small
from gatewayctl_me import selfservice as aws_side

from reconciler.desired.diagnostics import InputError
from reconciler.desired.policy import BUDGET_TZ
from reconciler.desired.yamlfile import read_regular
from reconciler.errors import EXIT_OK, GatewayctlError, UsageError

session_name = aws_side.session_name


class SelfServiceError(GatewayctlError):
    """Who you are, or your key, cannot be found."""


def _users(root: Path) -> list[dict]:
    """users/*.yaml as plain mappings (unvalidated: enough to find oneself). Symbolic links are
    never followed (yamlfile.read_regular): a link is no user's file."""
    import yaml

    out = []
    users = root / "users"
    for path in [] if users.is_symlink() else sorted(users.glob("*.yaml")):
        try:
            data = yaml.safe_load(read_regular(path))
        except (InputError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            out.append(data)
    return out


def resolve_user_id(root: Path, name: str) -> str:
    wanted = name.lower()
    for u in _users(root):
        if u["id"] == name or str(u.get("email", "")).lower() == wanted:
            return u["id"]
    raise SelfServiceError(f"no users/*.yaml has the id or email {name!r} (your AWS session name); "
                           "pass --user ID, or run from a checkout of the repository with --root")


def _region(args: argparse.Namespace) -> str | None:
    if args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"):
        return args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    try:
        import yaml

        policies = args.root / "policies"
        return None if policies.is_symlink() else yaml.safe_load(read_regular(policies / "models.yaml"))["region"]
    except (InputError, KeyError, TypeError, ValueError, yaml.YAMLError):
        return None


def _me(args: argparse.Namespace) -> aws_side.Me:
    """You, as gatewayctl_me finds you; in a checkout, by your session name in users/*.yaml."""

    def from_checkout(arn: str) -> str:
        name = session_name(arn)
        if not name:
            raise SelfServiceError(f"{arn} carries no session name; pass --user ID")
        return resolve_user_id(args.root, name)

    resolve = from_checkout if (args.root / "users").is_dir() else aws_side.user_id_from_session
    try:
        return aws_side.locate(args.user, _region(args), args.secret_prefix, resolve)
    except aws_side.SelfServiceError as exc:
        raise SelfServiceError(str(exc)) from None


def _aws_errors_as_ours(run):
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except aws_side.SelfServiceError as exc:
            raise SelfServiceError(str(exc)) from None

    return wrapped


@_aws_errors_as_ours
def cmd_whoami(args: argparse.Namespace) -> int:
    me = _me(args)
    print("\n".join(small.whoami_lines(me)))
    try:
        from reconciler.desired.validate import load_desired

        desired = load_desired(args.root)
        user = desired.users[me.user_id]
        tier = desired.tiers[user.tier]
        print(f"tier:          {tier.display_name}: model {', '.join(tier.models)}, "
              f"${tier.monthly_budget_usd:.2f} a month, {tier.rpm_limit} requests a minute")
        if user.expires:
            print(f"access ends:   {user.expires} (end of day, {BUDGET_TZ.key})")
    except Exception as exc:  # noqa: BLE001 - tier details are a convenience; identity and key name still help
        print(f"tier:          unknown ({type(exc).__name__}: run from a checkout of the repository)")
    print(f"key secret:    {me.secret} (region {me.region or 'unset'})")
    return EXIT_OK


@_aws_errors_as_ours
def cmd_me(args: argparse.Namespace) -> int:
    print("\n".join(small.me_lines(_me(args))))
    return EXIT_OK


@_aws_errors_as_ours
def cmd_key_show(args: argparse.Namespace) -> int:
    if not args.me and not args.user:
        raise UsageError("say whose key: --me (from your AWS identity) or --user ID")
    small.key_show(_me(args), args)
    return EXIT_OK


def identity_arguments(p: argparse.ArgumentParser) -> None:
    small.identity_arguments(p, region_default="$AWS_REGION, else policies/models.yaml")


key_show_arguments = small.key_show_arguments
