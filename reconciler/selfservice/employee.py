"""Employee self-service: `gatewayctl whoami` and `gatewayctl key show --me`.

Runs with the employee's own AWS credentials (IAM Identity Center or a federated role). Their
session name is their sign-in name, which users/*.yaml knows as `email` (or `id`); AWS itself
decides what they may read, through the ABAC policy of terraform/modules/employee-key-access
(the secret's `gitops_user_id` tag must equal their session tag).

The key is printed only with --reveal, only to stdout, never to stderr, and in CI only to a terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from reconciler.desired.diagnostics import InputError
from reconciler.desired.policy import BUDGET_TZ
from reconciler.desired.yamlfile import read_regular
from reconciler.errors import EXIT_OK, GatewayctlError, UsageError
from reconciler.live.keystore import DEFAULT_PREFIX, OWNER_TAG


class SelfServiceError(GatewayctlError):
    """Who you are, or your key, cannot be found."""


def session_name(arn: str) -> str | None:
    """alice@example.com from arn:aws:sts::123:assumed-role/Role/alice@example.com (or an IAM user's name)."""
    resource = arn.split(":", 5)[-1]
    parts = resource.split("/")
    if parts[0] == "assumed-role" and len(parts) >= 3:
        return parts[-1]
    if parts[0] == "user" and len(parts) >= 2:
        return parts[-1]
    return None


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


def _client(service: str, region: str | None):
    import boto3

    return boto3.client(service, region_name=region)


def _me(args: argparse.Namespace) -> tuple[str, str]:
    """(caller ARN, gateway user id)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        arn = _client("sts", _region(args)).get_caller_identity()["Arn"]
    except (BotoCoreError, ClientError) as exc:
        raise SelfServiceError(f"cannot tell who you are from your AWS credentials: {exc} "
                               "(sign in first, e.g. `aws sso login`)") from None
    if args.user:
        return arn, args.user
    name = session_name(arn)
    if not name:
        raise SelfServiceError(f"{arn} carries no session name; pass --user ID")
    return arn, resolve_user_id(args.root, name)


def _reveal_allowed() -> str | None:
    """Why printing the key here would leak it, or None. In CI (CI or GITHUB_ACTIONS set) only a
    terminal is safe: a pipe, a file or a command substitution there ends up in a job log, an
    artifact or a later step's environment, all of which outlive the job."""
    ci = os.environ.get("CI", "").lower() in ("1", "true") or os.environ.get("GITHUB_ACTIONS") == "true"
    if not ci:
        return None
    try:
        if os.isatty(sys.stdout.fileno()):
            return None
    except (OSError, ValueError):
        pass
    return ("CI is set and stdout is not a terminal, so the key would end up in a job's log or files; "
            "read it on your own machine (docs/using-the-gateway.md, \"2. Get your key\")")


def cmd_whoami(args: argparse.Namespace) -> int:
    arn, user_id = _me(args)
    print(f"AWS identity:  {arn}")
    print(f"gateway user:  {user_id} (users/{user_id}.yaml)")
    try:
        from reconciler.desired.validate import load_desired

        desired = load_desired(args.root)
        user = desired.users[user_id]
        tier = desired.tiers[user.tier]
        print(f"tier:          {tier.display_name}: model {', '.join(tier.models)}, "
              f"${tier.monthly_budget_usd:.2f} a month, {tier.rpm_limit} requests a minute")
        if user.expires:
            print(f"access ends:   {user.expires} (end of day, {BUDGET_TZ.key})")
    except Exception as exc:  # noqa: BLE001 - tier details are a convenience; identity and key name still help
        print(f"tier:          unknown ({type(exc).__name__}: run from a checkout of the repository)")
    print(f"key secret:    {args.secret_prefix}{user_id} (region {_region(args) or 'unset'})")
    return EXIT_OK


def cmd_key_show(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    if not args.me and not args.user:
        raise UsageError("say whose key: --me (from your AWS identity) or --user ID")
    _arn, user_id = _me(args)
    name = args.secret_prefix + user_id
    stage = "AWSPREVIOUS" if args.previous else "AWSCURRENT"
    sm = _client("secretsmanager", _region(args))
    try:
        if args.reveal:
            why_not = _reveal_allowed()
            if why_not:
                raise SelfServiceError(f"not printing the key: {why_not}")
            value = json.loads(sm.get_secret_value(SecretId=name, VersionStage=stage)["SecretString"])
            sys.stdout.write(value["api_key"] + "\n")
            return EXIT_OK
        desc = sm.describe_secret(SecretId=name)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        hint = {"AccessDeniedException": f"AWS refused: is your session tagged {OWNER_TAG}={user_id}? "
                                         "(ask the platform team; docs/using-the-gateway.md, \"Get your key\")",
                "ResourceNotFoundException": "no such secret: has your pull request been merged and deployed?"}
        raise SelfServiceError(f"{name}: {hint.get(code, code or exc)}") from None
    except (BotoCoreError, ValueError, KeyError) as exc:
        raise SelfServiceError(f"{name}: {exc}") from None
    tags = {t["Key"]: t["Value"] for t in desc.get("Tags", [])}
    stages = {s for v in (desc.get("VersionIdsToStages") or {}).values() for s in v}
    print(f"secret:        {name}")
    print(f"user:          {tags.get(OWNER_TAG, user_id)}")
    print(f"last changed:  {desc.get('LastChangedDate', 'unknown')}")
    print(f"previous key:  {'kept as AWSPREVIOUS (--previous)' if 'AWSPREVIOUS' in stages else 'none'}")
    print("value:         hidden; add --reveal to print the key to stdout")
    return EXIT_OK


def identity_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", metavar="ID", help="your gateway user id, when your AWS session name is not "
                   "your users/ id or email")
    p.add_argument("--region", help="AWS region of the key secrets (default: $AWS_REGION, else "
                   "policies/models.yaml)")
    p.add_argument("--secret-prefix", default=DEFAULT_PREFIX, help=f"default {DEFAULT_PREFIX}")


def key_show_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--me", action="store_true", help="the key of the user your AWS identity maps to")
    p.add_argument("--reveal", action="store_true", help="print the key itself to stdout")
    p.add_argument("--previous", action="store_true",
                   help="the previous key (AWSPREVIOUS), which works until its overlap window ends after a rotation")
