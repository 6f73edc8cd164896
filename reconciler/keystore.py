"""Where raw virtual keys go: one secret per user, never printed or logged.

The reconciler mints each raw key itself and writes it to the store BEFORE LiteLLM learns
it (through /key/generate's `key` field). So a crash at any point leaves no key in LiteLLM
whose value is missing from the store; the next run sees a hash mismatch and converges.
Each secret is tagged with the key's sha256 (LiteLLM's token id), so a plan can check every
user's secret with one listing and without reading any secret value.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Protocol

from reconciler.policy import MANAGED_BY

DEFAULT_PREFIX = "llm-gateway/users/"
HASH_TAG = "gatewayctl:key-sha256"
# Whose key this is. The employee self-service policy (terraform/modules/employee-key-access) lets a
# principal read a secret only when this tag equals its own `gitops_user_id` session tag.
OWNER_TAG = "gitops_user_id"
SERVICE_PREFIX = "gatewayctl-"  # reserved ids of gatewayctl's own service accounts: never employee-readable


def owner_tags(user_id: str) -> list[dict[str, str]]:
    return [] if user_id.startswith(SERVICE_PREFIX) else [{"Key": OWNER_TAG, "Value": user_id}]


def new_key() -> str:
    return "sk-" + secrets.token_urlsafe(32)


def key_hash(raw: str) -> str:
    """LiteLLM's token id for a raw key."""
    return hashlib.sha256(raw.encode()).hexdigest()


class KeyStore(Protocol):
    def inventory(self) -> dict[str, str | None]: ...  # user id -> key hash
    def put(self, user_id: str, raw_key: str, *, key_alias: str, commit: str) -> None: ...
    def describe(self) -> str: ...


class SecretsManagerStore:
    """AWS Secrets Manager, reached through boto3's standard environment (AWS_REGION,
    AWS_ENDPOINT_URL, credentials). Secret name: <prefix><user id>."""

    def __init__(self, prefix: str = DEFAULT_PREFIX, kms_key_id: str | None = None):
        import boto3
        from botocore.config import Config

        self.prefix, self.kms_key_id = prefix, kms_key_id
        self._sm = boto3.client("secretsmanager", config=Config(
            retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5, read_timeout=20))
        self.calls = 0
        self.missing_owner_tag: list[str] = []  # user ids whose secret predates OWNER_TAG (seen by inventory)

    def describe(self) -> str:
        return f"AWS Secrets Manager ({self.prefix}<user id>)"

    def name(self, user_id: str) -> str:
        return self.prefix + user_id

    def inventory(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        kwargs = {"Filters": [{"Key": "name", "Values": [self.prefix]}], "MaxResults": 100}
        while True:
            self.calls += 1
            page = self._sm.list_secrets(**kwargs)
            for s in page.get("SecretList", []):
                if not s["Name"].startswith(self.prefix):
                    continue
                tags = {t["Key"]: t["Value"] for t in s.get("Tags", [])}
                user_id = s["Name"][len(self.prefix):]
                out[user_id] = tags.get(HASH_TAG)
                if owner_tags(user_id) and tags.get(OWNER_TAG) != user_id:
                    self.missing_owner_tag.append(user_id)
            if not page.get("NextToken"):
                return out
            kwargs["NextToken"] = page["NextToken"]

    def tag_owners(self, user_ids: list[str]) -> None:
        """Add OWNER_TAG to secrets written before it existed, so their owners can read them."""
        for user_id in user_ids:
            self.calls += 1
            self._sm.tag_resource(SecretId=self.name(user_id), Tags=owner_tags(user_id))

    def put(self, user_id: str, raw_key: str, *, key_alias: str, commit: str) -> None:
        from botocore.exceptions import ClientError

        value = json.dumps({"api_key": raw_key, "user_id": user_id, "key_alias": key_alias})
        tags = [{"Key": HASH_TAG, "Value": key_hash(raw_key)}, {"Key": "managed-by", "Value": MANAGED_BY},
                {"Key": "user-id", "Value": user_id}, {"Key": "git-commit", "Value": commit[:40] or "unknown"},
                *owner_tags(user_id)]
        name = self.name(user_id)
        self.calls += 1
        try:
            args = {"Name": name, "SecretString": value, "Tags": tags,
                    "Description": f"LiteLLM virtual key of {user_id} (managed by gatewayctl)"}
            if self.kms_key_id:
                args["KmsKeyId"] = self.kms_key_id
            self._sm.create_secret(**args)
            return
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceExistsException":
                raise
        # Existing secret: mark the hash tag stale first, so a crash between the new value and the new
        # tag reads as "mismatch" (repaired next run), never as "in sync" with the old hash.
        self.calls += 3
        self._sm.tag_resource(SecretId=name, Tags=[{"Key": HASH_TAG, "Value": "pending"}])
        self._sm.put_secret_value(SecretId=name, SecretString=value)
        self._sm.tag_resource(SecretId=name, Tags=tags)


class FileStore:
    """For the local demo: one 0600 file per user under a git-ignored directory. The key is
    written to disk, never to the terminal."""

    def __init__(self, directory: Path):
        self.dir = directory

    def describe(self) -> str:
        return f"files in {self.dir}/ (mode 0600)"

    def inventory(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for path in sorted(self.dir.glob("*.json")) if self.dir.is_dir() else []:
            try:
                out[path.stem] = key_hash(json.loads(path.read_text())["api_key"])
            except (ValueError, KeyError, OSError):
                out[path.stem] = None
        return out

    def put(self, user_id: str, raw_key: str, *, key_alias: str, commit: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = self.dir / f"{user_id}.json"
        tmp = target.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"api_key": raw_key, "user_id": user_id, "key_alias": key_alias}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
