"""Test helpers: generated users, the gateway handle, and LiteLLM/moto inspection."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
import time
import traceback
import types
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from reconciler.live.keystore import DEFAULT_PREFIX

USER_TEMPLATE = """\
# yaml-language-server: $schema=../schemas/user.schema.json
id: {id}
name: {name}
email: {email}
tier: {tier}
owner: {owner}
cost_center: CC-2001
justification: Generated test user for the reconciler suite.
"""


class LazyModule(types.ModuleType):
    """A module imported when a test first uses one of its public names. Collecting a test module reads
    only private and dunder names of its globals (fixture and test markers), which do not import it: so
    `make test-unit`, which deselects the SDK tests, does not pay seconds of CPU for the SDKs."""

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(importlib.import_module(self.__name__), name)


@dataclass
class Gateway:
    base_url: str
    master_key: str
    harness: Any  # LiteLLMHarness or None when LITELLM_TEST_BASE_URL points at docker compose


def run_gatewayctl_in_process(args: tuple[str, ...], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`gatewayctl *args` as the CLI's main() in this process, with `env` as its environment and `cwd` as
    its directory: what a subprocess would print and return, without a 0.7 s interpreter start. The
    process boundary itself (exit codes, the console script) keeps a few subprocess tests of its own."""
    from reconciler import cli
    from reconciler.desired import validate
    from reconciler.live import keystore

    # Cached per process: the AWS sessions keep the credentials they resolved first (an employee's
    # identity is not the test's), the schema validators the schema files they read.
    keystore._aws_session.cache_clear()
    boto3.DEFAULT_SESSION = None
    validate._validator.cache_clear()
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        for name in set(os.environ) - set(env):
            mp.delenv(name)
        for name, value in env.items():
            mp.setenv(name, value)
        mp.chdir(cwd)
        try:
            rc = cli.main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:  # noqa: BLE001 - a subprocess would print the traceback and exit 1
            traceback.print_exc()
            rc = 1
    keystore._aws_session.cache_clear()
    boto3.DEFAULT_SESSION = None
    return subprocess.CompletedProcess(["gatewayctl", *args], rc, out.getvalue(), err.getvalue())


def write_user(root: Path, user_id: str, tier: str = "drafting", *, email: str | None = None,
               name: str | None = None, owner: str = "approver@example.com", extra: str = "") -> Path:
    path = root / "users" / f"{user_id}.yaml"
    path.write_text(USER_TEMPLATE.format(id=user_id, name=name or f"User {user_id}",
                                         email=email or f"{user_id}@example.com", tier=tier, owner=owner) + extra)
    return path


def generate_users(root: Path, count: int, prefix: str = "user", tiers=("drafting", "coding", "architect"),
                   clear: bool = True) -> list[str]:
    users = root / "users"
    if clear:
        for p in users.glob("*.yaml"):
            p.unlink()
    ids = [f"{prefix}{i:05d}" for i in range(count)]
    for i, uid in enumerate(ids):
        write_user(root, uid, tiers[i % len(tiers)])
    return ids


def secrets_client():
    return boto3.client("secretsmanager")


def create_state_table() -> str:
    """The reconciler's DynamoDB table (gateway lock, converged commit), shaped as
    terraform/modules/github-oidc-reconciler creates it: hash key `id`, a string. Returns its name."""
    name = f"reconciler-state-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    return name


def secret_key(user_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    value = secrets_client().get_secret_value(SecretId=prefix + user_id)["SecretString"]
    return json.loads(value)["api_key"]


def managed_keys(admin: httpx.Client, user_id: str | None = None) -> list[dict]:
    params = {"return_full_object": "true", "size": 100, "page": 1}
    if user_id:
        params["user_id"] = user_id
    out = []
    while True:
        body = admin.get("/key/list", params=params).json()
        out += [k for k in body["keys"] if (k.get("metadata") or {}).get("managed_by") == "llm-gateway-gitops"]
        if params["page"] >= (body.get("total_pages") or 1):
            return out
        params["page"] += 1


def chat(base_url: str, key: str, model: str, text: str = "hi [[usage in=10 out=5]]") -> httpx.Response:
    return httpx.post(f"{base_url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": model, "messages": [{"role": "user", "content": text}]},
                      timeout=60, trust_env=False)


def wait_for_status(base_url: str, key: str, model: str, want: int, text: str = "hi [[usage in=10 out=5]]",
                    seconds: float = 15) -> httpx.Response:
    """Call until the answer is `want` (spend and auth changes reach LiteLLM's caches a little later)."""
    deadline = time.monotonic() + seconds
    while True:
        r = chat(base_url, key, model, text)
        if r.status_code == want or time.monotonic() > deadline:
            return r
        time.sleep(1)


def reset_gateway(admin: httpx.Client) -> None:
    """Delete every key, user and team, so each test starts from an empty gateway."""
    teams = admin.get("/team/list").json()
    # Deleting a team leaves each member's live spend counter in LiteLLM 1.108.7, and a team re-created
    # under the same id starts from it (a Drafting member at $5.27 of a new $2.00 budget: 422). Resetting
    # the member's spend is the one call that clears it.
    for team in teams:
        for member in team.get("members_with_roles") or ():
            if member.get("user_id"):
                admin.post(f"/team/{team['team_id']}/member/{member['user_id']}/reset_spend", json={"reset_to": 0})
    tokens = []
    page = 1
    while True:
        body = admin.get("/key/list", params={"size": 100, "page": page}).json()
        tokens += [k if isinstance(k, str) else k["token"] for k in body["keys"]]
        if page >= (body.get("total_pages") or 1):
            break
        page += 1
    for i in range(0, len(tokens), 100):
        admin.post("/key/delete", json={"keys": tokens[i:i + 100]}).raise_for_status()
    while True:
        users = [u["user_id"] for u in admin.get("/user/list", params={"page": 1, "page_size": 100}).json()["users"]
                 if u["user_id"] != "default_user_id"]
        if not users:
            break
        admin.post("/user/delete", json={"user_ids": users}).raise_for_status()
    if teams:
        admin.post("/team/delete", json={"team_ids": [t["team_id"] for t in teams]}).raise_for_status()


def reset_secrets() -> None:
    """Delete every secret in moto's Secrets Manager."""
    sm = secrets_client()
    for page in sm.get_paginator("list_secrets").paginate():
        for s in page["SecretList"]:
            # A replicated secret can't be deleted until its replicas are removed (AWS, and moto, refuse).
            regions = [r["Region"] for r in sm.describe_secret(SecretId=s["ARN"]).get("ReplicationStatus", [])]
            if regions:
                sm.remove_regions_from_replication(SecretId=s["ARN"], RemoveReplicaRegions=regions)
            sm.delete_secret(SecretId=s["ARN"], ForceDeleteWithoutRecovery=True)


def clean_slate(admin: httpx.Client, workspace: Path | None = None) -> None:
    """An empty gateway, no key secrets, and (given a workspace) no users/ files."""
    reset_gateway(admin)
    reset_secrets()
    for p in (workspace / "users").glob("*.yaml") if workspace else ():
        p.unlink()


def employee_credentials(session_name: str, user_id: str) -> dict[str, str]:
    """AWS credentials of an employee signed in through a federated role (moto): the session name is
    their sign-in name, the session tag `gitops_user_id` their gateway id."""
    from reconciler.live.keystore import OWNER_TAG

    iam = boto3.client("iam")
    try:
        iam.create_role(RoleName="EmployeeDeveloper", AssumeRolePolicyDocument="{}")
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    creds = boto3.client("sts").assume_role(
        RoleArn="arn:aws:iam::123456789012:role/EmployeeDeveloper", RoleSessionName=session_name,
        Tags=[{"Key": OWNER_TAG, "Value": user_id}])["Credentials"]
    return {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"]}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Collect:
    def __init__(self):
        self.mails: list[tuple[list[str], Any]] = []  # (envelope recipients, email.message.Message)

    async def handle_DATA(self, server, session, envelope):
        import email

        self.mails.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


class SmtpSink:
    """A real SMTP server on localhost (aiosmtpd) that keeps what it receives; `with` yields the
    collector, whose `mails` are (envelope recipients, message) pairs."""

    def __init__(self, port: int | None = None):
        from aiosmtpd.controller import Controller

        self.port = port or free_port()
        self.handler = _Collect()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> _Collect:
        self.controller.start()
        return self.handler

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def install_gatewayctl_me(venv: Path) -> Path:
    """clients/gatewayctl-me installed alone into a fresh virtualenv, as `pipx install` would (uv from its
    cache, offline: the same PyPI wheels). Returns the venv's bin directory."""
    repo = Path(__file__).resolve().parent.parent
    uv = repo / ".venv-installer" / "bin" / "uv"
    subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
    subprocess.run([str(uv), "pip", "install", "--quiet", "--offline", "--python", str(venv / "bin" / "python"),
                    str(repo / "clients" / "gatewayctl-me")], check=True, timeout=300)
    return venv / "bin"
