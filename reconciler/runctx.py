"""One run context: what every command that reaches the gateway or the key store needs, built once from
its arguments. The admin client, the key store (whose listing also holds the notification ledger), the
git module, the audit log and the clock live here, so a side command (budget alerts, chargeback) never
re-declares the gateway flags or builds its own client, and no two parts of a run list the same secrets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from reconciler import git
from reconciler.errors import expected_io
from reconciler.live.keystore import DEFAULT_PREFIX, DEFAULT_SERVICE_PREFIX, KMS_KEY_ENV

MASTER_KEY_ENV = "LITELLM_MASTER_KEY"


def connection_arguments(p: argparse.ArgumentParser, *, timeout: float = 30.0, key: str = "") -> None:
    """How to reach the gateway: the same three flags for every command that reads or writes it."""
    p.add_argument("--base-url", default=os.environ.get("LITELLM_BASE_URL"),
                   help=f"gateway URL (default: $LITELLM_BASE_URL){key}")
    p.add_argument("--timeout", type=float, default=timeout, help=f"seconds per request (default {timeout:g})")
    p.add_argument("--retries", type=int, default=5, help="retries on 429/5xx/network errors (default 5)")


def key_store_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--key-store", choices=("secretsmanager", "file"), default="secretsmanager",
                   help="where raw keys are delivered: AWS Secrets Manager (default) or 0600 files (demo)")
    secret_prefix_argument(p, f"Secrets Manager name prefix; secret = prefix + user id (default {DEFAULT_PREFIX})")
    p.add_argument("--service-secret-prefix", default=DEFAULT_SERVICE_PREFIX,
                   help="Secrets Manager name prefix of service keys (the plan-viewer's), outside the per-user "
                        f"prefix (default {DEFAULT_SERVICE_PREFIX})")
    p.add_argument("--kms-key-id", default=os.environ.get(KMS_KEY_ENV) or None, metavar="KEY",
                   help="the project's KMS key (id, ARN or alias) that new key secrets are encrypted with; "
                        f"required to write secrets (default: ${KMS_KEY_ENV})")
    p.add_argument("--adopt-key-secrets", action="store_true",
                   help="write into user key secrets that carry no resource policy (made by a gatewayctl older "
                        "than the policy) and give them ours; without it such a secret is refused")
    p.add_argument("--key-dir", type=Path, default=Path(".gatewayctl/keys"),
                   help="directory for --key-store file (default .gatewayctl/keys)")


def secret_prefix_argument(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--secret-prefix", default=DEFAULT_PREFIX, help=help)


def audit_log_argument(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--audit-log", type=Path, default=Path("gatewayctl-audit.jsonl"), help=help)


@dataclass(frozen=True)
class AuditLog:
    """The run's append-only audit log (one fsynced JSON line per run)."""

    path: Path

    def append(self, record: dict) -> None:
        from reconciler.apply.executor import append_jsonl

        with expected_io(f"cannot write the audit log {self.path}"):
            append_jsonl(self.path, record)


class RunContext:
    """Built once per command from its parsed arguments; the client and the store are made when first
    used (validate and history need neither) and the client is closed when the run ends."""

    git = git

    def __init__(self, args: argparse.Namespace, *, now: dt.datetime | None = None):
        self.args = args
        self.root: Path = args.root
        self.now = now or getattr(args, "now", None) or dt.datetime.now(dt.UTC)
        self.today: dt.date = getattr(args, "today", None) or self.now.astimezone(dt.UTC).date()
        self._client = None

    def __enter__(self) -> RunContext:
        return self

    def __exit__(self, *exc) -> None:
        if self._client is not None:
            self._client.close()

    @cached_property
    def commit(self) -> str:
        return git.head_commit(self.root)

    @property
    def client(self):
        """The one admin client of the run (gateway URL and timeouts from the arguments, the master key
        from $LITELLM_MASTER_KEY, never from a flag)."""
        if self._client is None:
            self._client = self.connect()
        return self._client

    def connect(self):
        from reconciler.live.client import AdminClient, RequestPolicy

        return AdminClient(self.args.base_url or "", os.environ.get(MASTER_KEY_ENV, ""),
                           policy=RequestPolicy(timeout=self.args.timeout, retries=self.args.retries))

    @cached_property
    def store(self):
        from reconciler.live import keystore
        from reconciler.live.secretsmanager import SecretsManagerStore
        from reconciler.plan import SERVICE_IDS

        args = self.args
        if args.key_store == "file":
            return keystore.FileStore(self.under_root(args.key_dir))
        return SecretsManagerStore(args.secret_prefix, args.kms_key_id,
                                   service_prefix=args.service_secret_prefix, service_ids=SERVICE_IDS,
                                   adopt_unguarded=getattr(args, "adopt_key_secrets", False))

    @cached_property
    def desired(self):
        """users/ and policies/ as of the run's date, read once (the plan and the notices share it)."""
        from reconciler.desired.validate import load_desired

        return load_desired(self.root, today=self.today)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.under_root(self.args.audit_log))

    def under_root(self, path: Path) -> Path:
        return path if path.is_absolute() else self.root / path

    def audit_header(self, command: str) -> dict:
        """What every audit record starts with: when, which commit, who, which CI run."""
        from reconciler.apply.executor import actor

        return {"ts": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "command": command,
                "git_commit": self.commit, "actor": actor(), "run_id": os.environ.get("GITHUB_RUN_ID")}
