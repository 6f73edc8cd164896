"""Where raw virtual keys go: one secret per user, never printed or logged.

The reconciler mints each raw key itself and writes it to the store BEFORE LiteLLM learns
it (through /key/generate's `key` field). So a crash at any point leaves no key in LiteLLM
whose value is missing from the store; the next run sees a hash mismatch and converges.
Each secret is tagged with the key's sha256 (LiteLLM's token id), so a plan can check every
user's secret with one listing and without reading any secret value.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path

# The secret names and owner tag are defined with the employee's side (clients/gatewayctl-me), which reads them.
from gatewayctl_me.contract import DEFAULT_PREFIX as DEFAULT_PREFIX
from gatewayctl_me.contract import OWNER_TAG as OWNER_TAG

from reconciler.errors import GatewayctlError

# Service keys (the plan-viewer key) live OUTSIDE the per-user prefix, so no policy that lets a
# user read "their own" secret under the prefix can ever reach them.
DEFAULT_SERVICE_PREFIX = "llm-gateway/service/"
HASH_TAG = "gatewayctl:key-sha256"
# The hash of the user's previous key while it keeps working after a scheduled rotation
# (reconciler.plan.rotation); "none" otherwise. Only the key with this hash counts as retiring.
RETIRING_TAG = "gatewayctl:retiring-key-sha256"
NO_RETIRING = "none"
RETIRING_FIELD = "retiring_key_sha256"  # the same, in a FileStore (demo) file
KMS_KEY_ENV = "GATEWAYCTL_KMS_KEY_ID"
NAME_FILTERS_PER_CALL = 10  # values of one ListSecrets name filter (AWS's limit)
# OWNER_TAG: whose key this is. The employee self-service policy (terraform/modules/employee-key-access) lets a
# principal read a secret only when this tag equals its own `gitops_user_id` session tag.
SERVICE_PREFIX = "gatewayctl-"  # reserved ids of gatewayctl's own service accounts: never employee-readable
# The principal that created a user's secret (gatewayctl's writer, see writer_arn). Informative: what
# proves a secret is ours is its resource policy (user_secret_policy), which only the writer may change.
CREATOR_TAG = "gatewayctl:created-by"
# Only IAM Identity Center's roles carry session tags that come from the identity provider; an IAM user
# (iam:TagUser) or a chained role session (sts:TagSession) can set its own. AWS reserves this path.
IDENTITY_CENTER_ROLES = "arn:{partition}:iam::{account}:role/aws-reserved/sso.amazonaws.com/*"
# What a user secret's resource policy leaves to others than the writer (identity policies decide): reads,
# and deletion, which terraform/scripts/teardown needs and which exposes nothing (a secret re-created in
# its place is refused by gatewayctl). Every other change is the writer's alone.
NOT_ONLY_THE_WRITERS = ["secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret",
                        "secretsmanager:GetResourcePolicy", "secretsmanager:GetSecretValue",
                        "secretsmanager:ListSecretVersionIds"]


class KeyStoreError(GatewayctlError):
    """The key store cannot be read (credentials, region, permissions)."""


class ForeignSecretError(KeyStoreError):
    """A user's secret exists but gatewayctl cannot show it made it: nothing is written into it."""


def writer_arn(caller_arn: str) -> str:
    """The aws:PrincipalArn of a caller (sts:GetCallerIdentity's Arn): an assumed role's session becomes
    its role (which must have no path: the session ARN does not carry it); any other caller (an IAM user,
    a federated user) is its own ARN."""
    m = re.fullmatch(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([\w+=,.@-]+)/[^/]+", caller_arn)
    if m:
        return f"arn:{m[1]}:iam::{m[2]}:role/{m[3]}"
    if re.fullmatch(r"arn:[\w-]+:(iam|sts)::\d{12}:[\w+=,.@/-]+", caller_arn):
        return caller_arn
    raise KeyStoreError(f"cannot write key secrets as {caller_arn!r}: not an AWS principal ARN")


def user_secret_policy(user_id: str, writer: str, owner_tag: str = OWNER_TAG) -> dict:
    """The resource policy of a user's key secret. Only denies, so it grants nobody anything; identity
    policies still must allow. `writer` alone may change the secret (value, tags, policy, rotation), and
    the value is readable only by an Identity Center role whose session tag names this user: the owner is
    written here literally, so retagging the secret moves nobody's access."""
    partition, account = writer.split(":")[1], writer.split(":")[4]
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "OnlyGatewayctlChangesTheSecret", "Effect": "Deny", "Principal": "*",
         "NotAction": NOT_ONLY_THE_WRITERS, "Resource": "*",
         "Condition": {"ArnNotEquals": {"aws:PrincipalArn": writer}}},
        {"Sid": "OnlyIdentityCenterRolesReadTheKey", "Effect": "Deny", "Principal": "*",
         "Action": "secretsmanager:GetSecretValue", "Resource": "*",
         "Condition": {"ArnNotLike": {"aws:PrincipalArn": IDENTITY_CENTER_ROLES.format(partition=partition,
                                                                                        account=account)}}},
        # A missing tag makes StringNotEquals true: a session without it is denied too.
        {"Sid": "OnlyTheOwnerReadsTheKey", "Effect": "Deny", "Principal": "*",
         "Action": "secretsmanager:GetSecretValue", "Resource": "*",
         "Condition": {"StringNotEquals": {f"aws:PrincipalTag/{owner_tag}": user_id}}},
    ]}


def owner_tags(user_id: str) -> list[dict[str, str]]:
    return [] if user_id.startswith(SERVICE_PREFIX) else [{"Key": OWNER_TAG, "Value": user_id}]


def new_key() -> str:
    return "sk-" + secrets.token_urlsafe(32)


def key_hash(raw: str) -> str:
    """LiteLLM's token id for a raw key."""
    return hashlib.sha256(raw.encode()).hexdigest()


class KeyStore(ABC):
    """Where raw keys are delivered. One listing (inventory or inventory_of) answers every question a run
    asks of the store: each user's key hash, and beside it what the attributes below hold."""

    adopt_unguarded = False  # write into (and guard) user secrets that predate gatewayctl's resource policy

    def __init__(self) -> None:
        self.calls = 0  # requests made, for --show-calls
        self.retiring: dict[str, str] = {}  # user id -> the hash of its retiring key (reconciler.plan.rotation)
        self.missing_owner_tag: list[str] = []  # user ids whose secret predates OWNER_TAG
        self.listed_users: set[str] = set()  # user ids the listings saw a secret for
        self.tags: dict[str, dict[str, str]] = {}  # user id -> its secret's tags (the notification ledger's too)

    @abstractmethod
    def inventory(self, services: Iterable[str] = ()) -> dict[str, str | None]:
        """id -> key hash of every user (and of `services`)."""

    @abstractmethod
    def inventory_of(self, user_ids: Iterable[str], services: Iterable[str] = ()) -> dict[str, str | None]:
        """The same for some users only (a scoped plan, reconciler/plan/scope.py)."""

    @abstractmethod
    def put(self, user_id: str, raw_key: str, *, key_alias: str, commit: str,
            retiring_hash: str | None = None) -> None: ...

    @abstractmethod
    def describe(self) -> str: ...

    def write_problem(self) -> str | None:
        """Why this store must not write keys, or None."""
        return None

    def tag_owners(self, user_ids: list[str]) -> None:
        """Give secrets that predate it the OWNER_TAG (a store without tags has nothing to do)."""
        return None

    def guard_listed(self) -> tuple[list[str], list[str]]:
        """(user ids whose secret carries gatewayctl's resource policy, reasons refused) after the sweep
        that adopt_unguarded asks for; a store without policies checks nothing."""
        return [], []


def _as_sent(value):
    return value


@functools.cache
def _aws_session():
    """botocore's session, as boto3.client() would use, with two savings that matter at 10,000 users:
    boto3 itself is not imported (it brings s3transfer and more that a plan never uses), and responses
    keep their timestamps as sent. Every caller here reads names and tags only, and turning each
    secret's two dates into local datetimes was a third of the CPU of a ListSecrets page."""
    import botocore.session

    session = botocore.session.get_session()
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=_as_sent)
    return session


class FileStore(KeyStore):
    """For the local demo: one 0600 file per user under a git-ignored directory. The key is
    written to disk, never to the terminal."""

    def __init__(self, directory: Path):
        super().__init__()
        self.dir = directory

    def describe(self) -> str:
        return f"files in {self.dir}/ (mode 0600)"

    def inventory(self, services: Iterable[str] = ()) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        self.retiring = {}
        for path in sorted(self.dir.glob("*.json")) if self.dir.is_dir() else []:
            try:
                doc = json.loads(path.read_text())
                out[path.stem] = key_hash(doc["api_key"])
            except (ValueError, KeyError, TypeError, OSError):
                out[path.stem] = None
                continue
            if isinstance(doc.get(RETIRING_FIELD), str):
                self.retiring[path.stem] = doc[RETIRING_FIELD]
        return out

    def inventory_of(self, user_ids: Iterable[str], services: Iterable[str] = ()) -> dict[str, str | None]:
        """inventory() for these users only (the files are local: it is read whole and cut)."""
        wanted = set(user_ids) | set(services)
        out = {uid: h for uid, h in self.inventory(services).items() if uid in wanted}
        self.retiring = {uid: h for uid, h in self.retiring.items() if uid in wanted}
        return out

    def put(self, user_id: str, raw_key: str, *, key_alias: str, commit: str,
            retiring_hash: str | None = None) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = self.dir / f"{user_id}.json"
        tmp = target.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            doc = {"api_key": raw_key, "user_id": user_id, "key_alias": key_alias}
            if retiring_hash:
                doc[RETIRING_FIELD] = retiring_hash
            json.dump(doc, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
