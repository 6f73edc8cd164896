"""Who you are, your key and your month, read with your own AWS session and nothing else.

Your session name (IAM Identity Center: your sign-in name) names you; AWS itself decides what you may
read, through the ABAC policy of terraform/modules/employee-key-access: the secret's `gitops_user_id`
tag must equal your session tag. The key is printed only on request, only to stdout, and in CI only to
a terminal. Only botocore is imported (and only when AWS is called), so this package installs alone."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from gatewayctl_me import contract

USER_ENV = "GATEWAYCTL_USER"  # your gateway id, when your session name does not say it


class SelfServiceError(Exception):
    """Who you are, your key or your month cannot be read; the message says what to do."""


@dataclass(frozen=True)
class Me:
    arn: str  # the AWS identity the calls run as
    user_id: str  # the gateway user id (users/<id>.yaml)
    region: str | None
    prefix: str = contract.DEFAULT_PREFIX

    @property
    def secret(self) -> str:
        return self.prefix + self.user_id


def session_name(arn: str) -> str | None:
    """alice@example.com from arn:aws:sts::123:assumed-role/Role/alice@example.com (or an IAM user's name)."""
    parts = arn.split(":", 5)[-1].split("/")
    if (parts[0] == "assumed-role" and len(parts) >= 3) or (parts[0] == "user" and len(parts) >= 2):
        return parts[-1]
    return None


def aws_client(service: str, region: str | None):
    import botocore.session
    from botocore.exceptions import BotoCoreError

    try:
        return botocore.session.get_session().create_client(service, region_name=region)
    except BotoCoreError as exc:  # no region configured, a broken profile
        raise SelfServiceError(f"cannot reach AWS: {exc} (pass --region ap-south-1 or set AWS_REGION)") from None


def caller_arn(region: str | None) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return aws_client("sts", region).get_caller_identity()["Arn"]
    except (BotoCoreError, ClientError) as exc:
        raise SelfServiceError(f"cannot tell who you are from your AWS credentials: {exc} "
                               "(sign in first, e.g. `aws sso login`)") from None


def user_id_from_session(arn: str) -> str:
    """Without a checkout to look your email up in: your session name up to its '@' (alice@example.com is
    alice). A wrong guess reads nothing: AWS lets you read only the secret tagged with your own id."""
    name = session_name(arn)
    if not name:
        raise SelfServiceError(f"{arn} carries no session name; pass --user ID (or set {USER_ENV})")
    return name.split("@", 1)[0]


def locate(user: str | None, region: str | None, prefix: str, resolve=user_id_from_session) -> Me:
    """You: the caller's ARN and gateway id (--user, else $GATEWAYCTL_USER, else `resolve(arn)`). The region:
    `region`, else $AWS_REGION (which botocore itself does not read), else botocore's (AWS_DEFAULT_REGION, profile)."""
    region = region or os.environ.get("AWS_REGION") or None
    arn = caller_arn(region)
    return Me(arn, user or os.environ.get(USER_ENV) or resolve(arn), region, prefix)


def _aws_refusal(me: Me, exc) -> SelfServiceError:
    code = exc.response.get("Error", {}).get("Code", "")
    hint = {"AccessDeniedException": f"AWS refused: is this your id, and your session tagged "
                                     f"{contract.OWNER_TAG}={me.user_id}? (pass --user ID; else ask the platform "
                                     "team; docs/using-the-gateway.md, \"2. Get your key\")",
            "ResourceNotFoundException": "no such secret: is this your id (--user), and has your pull request "
                                         "been merged and deployed?"}
    return SelfServiceError(f"{me.secret}: {hint.get(code, code or exc)}")


def describe(me: Me) -> dict:
    """Your key secret's description: its tags (your month among them), dates and version stages."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return aws_client("secretsmanager", me.region).describe_secret(SecretId=me.secret)
    except ClientError as exc:
        raise _aws_refusal(me, exc) from None
    except BotoCoreError as exc:
        raise SelfServiceError(f"{me.secret}: {exc}") from None


def tags_of(description: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in description.get("Tags", [])}


def reveal_refusal() -> str | None:
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


def read_key(me: Me, *, previous: bool = False) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    why_not = reveal_refusal()
    if why_not:
        raise SelfServiceError(f"not printing the key: {why_not}")
    stage = "AWSPREVIOUS" if previous else "AWSCURRENT"
    try:
        value = aws_client("secretsmanager", me.region).get_secret_value(SecretId=me.secret, VersionStage=stage)
        return json.loads(value["SecretString"])["api_key"]
    except ClientError as exc:
        raise _aws_refusal(me, exc) from None
    except (BotoCoreError, ValueError, KeyError) as exc:
        raise SelfServiceError(f"{me.secret}: {exc}") from None


# ---------------------------------------------------------------- your month, from the nightly job's tags


@dataclass(frozen=True)
class Usage:
    tier: str
    models: str
    spent: Decimal
    budget: Decimal
    resets_at: dt.datetime
    rotates_on: dt.date | None  # None: the tier never rotates keys
    as_of: dt.datetime

    @property
    def percent(self) -> int:
        if self.budget <= 0:
            return 100 if self.spent > 0 else 0
        return int((self.spent * 100 / self.budget).to_integral_value(ROUND_DOWN))


def usage_from_tags(tags: dict[str, str]) -> Usage | None:
    """What the nightly job last published on the secret, or None (not published yet, or unreadable)."""
    if any(t not in tags for t in contract.USAGE_TAGS):
        return None
    try:
        rotates = tags[contract.ROTATES_TAG]
        return Usage(tags[contract.TIER_TAG], tags[contract.MODELS_TAG], Decimal(tags[contract.SPEND_TAG]),
                     Decimal(tags[contract.BUDGET_TAG]), dt.datetime.fromisoformat(tags[contract.RESETS_TAG]),
                     None if rotates == contract.NEVER else dt.date.fromisoformat(rotates),
                     dt.datetime.fromisoformat(tags[contract.AS_OF_TAG].replace("Z", "+00:00")))
    except (ValueError, InvalidOperation):
        return None


def _money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01'), ROUND_DOWN):,.2f}"


def _in_days(days: int) -> str:
    return "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"


def _offset(t: dt.datetime) -> str:
    return "UTC" if not t.utcoffset() else "UTC" + t.strftime("%z")[:3] + ":" + t.strftime("%z")[3:]


def render_usage(usage: Usage | None, now: dt.datetime) -> list[str]:
    """Your month, with when it was read: spend made since then is not in it."""
    if usage is None:
        return ["this month:    not published yet (the nightly job writes it; a key issued today has none)"]
    resets_local = usage.resets_at.astimezone(usage.resets_at.tzinfo)
    reset_days = (resets_local.date() - now.astimezone(usage.resets_at.tzinfo).date()).days
    lines = [f"tier:          {usage.tier} (model {usage.models})",
             f"spent:         {_money(usage.spent)} of your {_money(usage.budget)} budget ({usage.percent}%)",
             f"budget resets: {resets_local:%Y-%m-%d %H:%M} {_offset(resets_local)} ({_in_days(reset_days)})"]
    if usage.rotates_on is None:
        lines.append("key rotates:   never (your tier has no scheduled rotation)")
    else:
        days = (usage.rotates_on - now.astimezone(dt.UTC).date()).days
        when = "due: the next nightly run rotates it" if days <= 0 else _in_days(days)
        lines.append(f"key rotates:   {usage.rotates_on} ({when})")
    hours = max(0, int((now - usage.as_of).total_seconds() // 3600))
    lines.append(f"as of:         {usage.as_of.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC ({hours} h ago, the nightly "
                 "job; calls since then are not counted here)")
    return lines


def render_key(me: Me, description: dict) -> list[str]:
    tags = tags_of(description)
    stages = {s for v in (description.get("VersionIdsToStages") or {}).values() for s in v}
    return [f"secret:        {me.secret}",
            f"user:          {tags.get(contract.OWNER_TAG, me.user_id)}",
            f"last changed:  {description.get('LastChangedDate', 'unknown')}",
            f"previous key:  {'kept as AWSPREVIOUS (--previous)' if 'AWSPREVIOUS' in stages else 'none'}",
            "value:         hidden; add --reveal to print the key to stdout"]
