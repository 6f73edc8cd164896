"""The key store on AWS Secrets Manager: one secret per user, guarded by a resource policy only
gatewayctl's writer may change (reconciler/live/keystore.py holds the names, tags and policy it uses)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from reconciler.desired.policy import MANAGED_BY
from reconciler.errors import UsageError
from reconciler.live.keystore import (
    CREATOR_TAG,
    DEFAULT_PREFIX,
    DEFAULT_SERVICE_PREFIX,
    HASH_TAG,
    KMS_KEY_ENV,
    NAME_FILTERS_PER_CALL,
    NO_RETIRING,
    OWNER_TAG,
    RETIRING_TAG,
    ForeignSecretError,
    KeyStore,
    KeyStoreError,
    _aws_session,
    key_hash,
    owner_tags,
    user_secret_policy,
    writer_arn,
)


class SecretsManagerStore(KeyStore):
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

        super().__init__()
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
                self.tags[user_id] = tags
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

    def tag(self, user_id: str, tags: dict[str, str]) -> None:
        """Add or update tags on a user's secret (the nightly job's usage tags: reconciler/selfservice/publish.py)."""
        self.calls += 1
        self._sm.tag_resource(SecretId=self.name(user_id), Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

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
