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
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from reconciler.errors import GatewayctlError, UsageError
from reconciler.policy import MANAGED_BY

DEFAULT_PREFIX = "llm-gateway/users/"
# Service keys (the plan-viewer key) live OUTSIDE the per-user prefix, so no policy that lets a
# user read "their own" secret under the prefix can ever reach them.
DEFAULT_SERVICE_PREFIX = "llm-gateway/service/"
HASH_TAG = "gatewayctl:key-sha256"
# The hash of the user's previous key while it keeps working after a scheduled rotation
# (reconciler.rotation); "none" otherwise. Only the key with this hash counts as retiring.
RETIRING_TAG = "gatewayctl:retiring-key-sha256"
NO_RETIRING = "none"
RETIRING_FIELD = "retiring_key_sha256"  # the same, in a FileStore (demo) file
KMS_KEY_ENV = "GATEWAYCTL_KMS_KEY_ID"
NAME_FILTERS_PER_CALL = 10  # values of one ListSecrets name filter (AWS's limit)
# Whose key this is. The employee self-service policy (terraform/modules/employee-key-access) lets a
# principal read a secret only when this tag equals its own `gitops_user_id` session tag.
OWNER_TAG = "gitops_user_id"
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


class KeyStore(Protocol):
    # id -> key hash; also fills `retiring` (id -> retiring key's hash) from the same listing
    def inventory(self, services: Iterable[str] = ()) -> dict[str, str | None]: ...
    # the same for some users only (a scoped plan, reconciler/scope.py)
    def inventory_of(self, user_ids: Iterable[str], services: Iterable[str] = ()) -> dict[str, str | None]: ...
    def put(self, user_id: str, raw_key: str, *, key_alias: str, commit: str,
            retiring_hash: str | None = None) -> None: ...
    def describe(self) -> str: ...


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


class SecretsManagerStore:
    """AWS Secrets Manager, reached through boto3's standard environment (AWS_REGION,
    AWS_ENDPOINT_URL, credentials). Secret name: <prefix><user id>; a service account's (the
    plan-viewer's): <service prefix><service id>. Secrets are written encrypted with the project's
    KMS key (`kms_key_id`), never with the account's default aws/secretsmanager key."""

    def __init__(self, prefix: str = DEFAULT_PREFIX, kms_key_id: str | None = None, *,
                 service_prefix: str = DEFAULT_SERVICE_PREFIX, service_ids: Iterable[str] = (),
                 adopt_unguarded: bool = False):
        from botocore.config import Config

        if service_prefix.startswith(prefix) or prefix.startswith(service_prefix):
            raise UsageError(f"the service secret prefix {service_prefix!r} must lie outside the per-user "
                             f"prefix {prefix!r}")
        from botocore.exceptions import BotoCoreError

        self.prefix, self.kms_key_id = prefix, kms_key_id
        self.service_prefix, self.service_ids = service_prefix, frozenset(service_ids)
        # Take over user secrets that carry no resource policy (written before gatewayctl set one).
        self.adopt_unguarded = adopt_unguarded
        self._writer: str | None = None
        config = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5, read_timeout=20)
        try:
            self._sm = _aws_session().create_client("secretsmanager", config=config)
            self._sts = _aws_session().create_client("sts", config=config)
        except BotoCoreError as exc:  # no region, a broken profile
            raise KeyStoreError(f"cannot reach AWS Secrets Manager: {exc} (set AWS_REGION, or use --key-store file "
                                "for a local gateway)") from exc
        self.calls = 0
        self.missing_owner_tag: list[str] = []  # user ids whose secret predates OWNER_TAG (seen by inventory)
        self.listed_users: set[str] = set()  # user ids with a secret under the prefix (seen by inventory)
        self.retiring: dict[str, str] = {}  # user id -> RETIRING_TAG (seen by inventory)

    def describe(self) -> str:
        return f"AWS Secrets Manager ({self.prefix}<user id>)"

    def name(self, user_id: str) -> str:
        return (self.service_prefix if user_id in self.service_ids else self.prefix) + user_id

    def write_problem(self) -> str | None:
        """Why this store must not write secrets, or None."""
        if not self.kms_key_id:
            return (f"per-user key secrets must be encrypted with the project's KMS key: pass --kms-key-id or set "
                    f"{KMS_KEY_ENV} (terraform output kms_key_arn)")
        return None

    def inventory(self, services: Iterable[str] = ()) -> dict[str, str | None]:
        """Key-hash tag of every secret: one listing per 100 users, one describe per service id."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._inventory(services)
        except (BotoCoreError, ClientError) as exc:
            raise KeyStoreError(f"cannot list the key secrets ({self.prefix}*) in AWS Secrets Manager: {exc}") from exc

    def _inventory(self, services: Iterable[str]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        self.retiring = {}
        self._list_into(out, [self.prefix], lambda name: name.startswith(self.prefix))
        self._describe_services(out, services)
        return out

    def inventory_of(self, user_ids: Iterable[str], services: Iterable[str] = ()) -> dict[str, str | None]:
        """What inventory() says about `user_ids` (and `services`) only, for a scoped plan: ListSecrets
        with up to 10 name filters per call (AWS's maximum; each a prefix, so names are then matched
        exactly), so 1,000 users take 100 calls and 10 users one."""
        from botocore.exceptions import BotoCoreError, ClientError

        names = [self.prefix + uid for uid in sorted(set(user_ids))]
        out: dict[str, str | None] = {}
        self.retiring = {}
        try:
            for i in range(0, len(names), NAME_FILTERS_PER_CALL):
                batch = set(names[i:i + NAME_FILTERS_PER_CALL])
                self._list_into(out, sorted(batch), batch.__contains__)
            self._describe_services(out, services)
        except (BotoCoreError, ClientError) as exc:
            raise KeyStoreError(f"cannot list the key secrets ({self.prefix}*) in AWS Secrets Manager: {exc}") from exc
        return out

    def _list_into(self, out: dict[str, str | None], name_filters: list[str], keep) -> None:
        """ListSecrets with these name filters (prefixes), every page; secrets whose name `keep`s go in `out`."""
        kwargs = {"Filters": [{"Key": "name", "Values": name_filters}], "MaxResults": 100}
        while True:
            self.calls += 1
            page = self._sm.list_secrets(**kwargs)
            for s in page.get("SecretList", []):
                if not keep(s["Name"]):
                    continue
                tags = {t["Key"]: t["Value"] for t in s.get("Tags", [])}
                user_id = s["Name"][len(self.prefix):]
                out[user_id] = tags.get(HASH_TAG)
                self.listed_users.add(user_id)
                if tags.get(RETIRING_TAG, NO_RETIRING) != NO_RETIRING:
                    self.retiring[user_id] = tags[RETIRING_TAG]
                if self.owner_tags(user_id) and tags.get(OWNER_TAG) != user_id:
                    self.missing_owner_tag.append(user_id)
            if not page.get("NextToken"):
                return
            kwargs["NextToken"] = page["NextToken"]

    def _describe_services(self, out: dict[str, str | None], services: Iterable[str]) -> None:
        from botocore.exceptions import ClientError

        for sid in services:
            # Only the secret outside the user prefix counts (one an older version left under the
            # prefix does not): a service key found only there is re-issued to the right place.
            out.pop(sid, None)
            self.calls += 1
            try:
                desc = self._sm.describe_secret(SecretId=self.name(sid))
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
                continue
            out[sid] = {t["Key"]: t["Value"] for t in desc.get("Tags", [])}.get(HASH_TAG)

    def owner_tags(self, user_id: str) -> list[dict[str, str]]:
        """The owner tag of a user's secret; none on a service account's (reserved id or service prefix)."""
        return [] if user_id in self.service_ids else owner_tags(user_id)

    def tag_owners(self, user_ids: list[str]) -> None:
        """Add OWNER_TAG to secrets written before it existed, so their owners can read them."""
        for user_id in user_ids:
            tags = self.owner_tags(user_id)
            if tags:
                self.calls += 1
                self._sm.tag_resource(SecretId=self.name(user_id), Tags=tags)

    def writer(self) -> str:
        """Who this store writes as (aws:PrincipalArn), the one principal a user secret's policy lets change it."""
        if self._writer is None:
            self.calls += 1
            self._writer = writer_arn(self._sts.get_caller_identity()["Arn"])
        return self._writer

    def resource_policy(self, user_id: str) -> dict:
        return user_secret_policy(user_id, self.writer())

    def _guard(self, user_id: str, *, created_now: bool) -> None:
        """Make sure a user's secret is one gatewayctl made, or refuse (ForeignSecretError): its resource
        policy must be exactly ours. One without a policy is ours only when this run just created it (the
        policy then goes on first, replacing anything put there meanwhile), when it has no value yet and our
        creator tag (a creation interrupted before the policy), or with adopt_unguarded (secrets written
        before the policy existed). The policy is always on before a value is written."""
        name = self.name(user_id)
        ours = self.resource_policy(user_id)
        if created_now:
            self.calls += 1
            self._sm.put_resource_policy(SecretId=name, ResourcePolicy=json.dumps(ours), BlockPublicPolicy=True)
            found = json.dumps(ours)
        else:
            self.calls += 1
            found = self._sm.get_resource_policy(SecretId=name).get("ResourcePolicy")
        self.calls += 1
        desc = self._sm.describe_secret(SecretId=name)
        tags = {t["Key"]: t["Value"] for t in desc.get("Tags", [])}
        why = None
        if desc.get("RotationEnabled") or desc.get("ReplicationStatus") or desc.get("OwningService"):
            why = "it is rotated, replicated or owned by another service, which gatewayctl never sets up"
        elif tags.get(OWNER_TAG, user_id) != user_id:
            why = f"its {OWNER_TAG} tag names {tags[OWNER_TAG]!r}"
        elif found is not None and json.loads(found) != ours:
            why = "it carries a resource policy gatewayctl did not write"
        elif found is None and not (self.adopt_unguarded or (
                tags.get(CREATOR_TAG) == self.writer() and not desc.get("VersionIdsToStages"))):
            why = ("it has no resource policy and gatewayctl did not create it (a secret written by a gatewayctl "
                   "older than resource policies: check in CloudTrail who created it, then apply with "
                   "--adopt-key-secrets)")
        if why:
            raise ForeignSecretError(f"refusing to write the key of {user_id} into {name}: {why}. Nothing was "
                                     "written; delete the secret (after finding out who made it) or fix it")
        if found is None:
            self.calls += 1
            self._sm.put_resource_policy(SecretId=name, ResourcePolicy=json.dumps(ours), BlockPublicPolicy=True)

    def guard_listed(self) -> tuple[list[str], list[str]]:
        """Check every user secret inventory() saw as put() would, giving ours to those without a policy
        (with adopt_unguarded: the upgrade's one sweep, so no secret waits for its next key to get it).
        Returns (user ids checked, reasons refused)."""
        checked, refused = [], []
        for user_id in sorted(self.listed_users - self.service_ids):
            try:
                self._guard(user_id, created_now=False)
                checked.append(user_id)
            except ForeignSecretError as exc:
                refused.append(str(exc))
        return checked, refused

    def put(self, user_id: str, raw_key: str, *, key_alias: str, commit: str,
            retiring_hash: str | None = None) -> None:
        from botocore.exceptions import ClientError

        problem = self.write_problem()
        if problem:
            raise UsageError(problem)
        value = json.dumps({"api_key": raw_key, "user_id": user_id, "key_alias": key_alias})
        retiring = {"Key": RETIRING_TAG, "Value": retiring_hash or NO_RETIRING}
        tags = [{"Key": HASH_TAG, "Value": key_hash(raw_key)}, retiring, {"Key": "managed-by", "Value": MANAGED_BY},
                {"Key": "user-id", "Value": user_id}, {"Key": "git-commit", "Value": commit[:40] or "unknown"},
                *self.owner_tags(user_id)]
        name = self.name(user_id)
        guarded = user_id not in self.service_ids
        if guarded:
            tags.append({"Key": CREATOR_TAG, "Value": self.writer()})
        self.calls += 1
        try:
            if guarded:
                # A user's secret is created empty: its resource policy goes on before the key does.
                self._sm.create_secret(Name=name, KmsKeyId=self.kms_key_id,
                                       Tags=[{**t, "Value": "pending"} if t["Key"] == HASH_TAG else t for t in tags],
                                       Description=f"LiteLLM virtual key of {user_id} (managed by gatewayctl)")
            else:
                self._sm.create_secret(Name=name, SecretString=value, Tags=tags, KmsKeyId=self.kms_key_id,
                                       Description=f"LiteLLM virtual key of {user_id} (managed by gatewayctl)")
                return
            created_now = True
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceExistsException":
                raise
            created_now = False
        if guarded:
            self._guard(user_id, created_now=created_now)
        if not created_now:
            # Existing secret: mark the hash tag stale first, so a crash between the new value and the new
            # tag reads as "mismatch" (repaired next run), never as "in sync" with the old hash. The retiring
            # key's hash goes in the same call, so that key keeps its window through such a crash. (A secret
            # created just now carries both already.)
            self.calls += 1
            self._sm.tag_resource(SecretId=name, Tags=[{"Key": HASH_TAG, "Value": "pending"}, retiring])
        self.calls += 2
        # UpdateSecret (not PutSecretValue) also moves a secret made before with another key to ours.
        self._sm.update_secret(SecretId=name, SecretString=value, KmsKeyId=self.kms_key_id)
        self._sm.tag_resource(SecretId=name, Tags=tags)


class FileStore:
    """For the local demo: one 0600 file per user under a git-ignored directory. The key is
    written to disk, never to the terminal."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.retiring: dict[str, str] = {}  # user id -> retiring key's hash (seen by inventory)

    def describe(self) -> str:
        return f"files in {self.dir}/ (mode 0600)"

    def write_problem(self) -> str | None:
        return None

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
