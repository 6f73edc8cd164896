"""Key notices on the genuine proxy: SMTP into a real local SMTP server (aiosmtpd) and Amazon SES
in moto. Ready / rotated / revoked, never twice, never with a key, never failing the apply, and
retried by the next run after a failure."""

from __future__ import annotations

import json
from email.message import Message as Mail

import pytest
from helpers import (
    SmtpSink,
    clean_slate,
    create_state_table,
    free_port,
    managed_keys,
    secret_key,
    secrets_client,
    write_user,
)

from reconciler.live.keystore import DEFAULT_PREFIX
from reconciler.notifications import notify

pytestmark = pytest.mark.integration
SENDER = "llm-gateway@example.com"


Sink = SmtpSink


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture(autouse=True)
def clean(admin, aws_env, workspace):
    clean_slate(admin, workspace)


def smtp_env(port: int) -> dict:
    return {"GATEWAYCTL_NOTIFY": "smtp", "GATEWAYCTL_NOTIFY_FROM": SENDER, "GATEWAYCTL_SMTP_HOST": "127.0.0.1",
            "GATEWAYCTL_SMTP_PORT": str(port), "GATEWAYCTL_GUIDE_URL": "https://git.example.com/guide"}


def last_audit(workspace) -> dict:
    return json.loads((workspace / "gatewayctl-audit.jsonl").read_text().splitlines()[-1])


def body(mail: Mail) -> str:
    return mail.get_payload(decode=True).decode()


def test_ready_rotated_revoked_each_once_and_never_with_the_key(day, gatewayctl, workspace, smtp_port):
    write_user(workspace, "nina", "drafting", owner="lead@example.com")
    write_user(workspace, "noor", "coding", owner="lead@example.com")
    env = smtp_env(smtp_port)
    with Sink(smtp_port) as sink:
        out = gatewayctl("apply", "--confirm", "--today", day(0), env=env, check=True)
        assert "notifications via SMTP 127.0.0.1" in out.stderr and "2 sent" in out.stderr
        assert len(sink.mails) == 2
        rcpts, mail = next(m for m in sink.mails if m[1]["To"] == "nina@example.com")
        assert set(rcpts) == {"nina@example.com", "lead@example.com"} and mail["Cc"] == "lead@example.com"
        assert mail["From"] == SENDER and mail["Subject"] == "Your LLM gateway key is ready"
        text = body(mail)
        assert f"{DEFAULT_PREFIX}nina" in text and "gatewayctl key show --me" in text
        assert "https://git.example.com/guide" in text and "model-cheap" in text
        key = secret_key("nina")
        assert key not in text and "sk-" not in text

        again = gatewayctl("apply", "--confirm", "--today", day(0), env=env, check=True)  # a re-run sends nothing twice
        assert len(sink.mails) == 2 and "0 sent, 2 already sent" in again.stderr
        assert last_audit(workspace)["notifications"]["skipped"] == 2

        due = day(90)
        # Two due keys of two: the rotation limit (1 here) takes one a night; the other waits.
        first = gatewayctl("rotate", "--confirm", "--today", due, env=env, check=True)
        assert len(sink.mails) == 3 and "1 user(s)' scheduled key rotation or retirement wait" in first.stderr
        gatewayctl("rotate", "--confirm", "--today", due, env=env, check=True)
        rotated = [m for _, m in sink.mails[2:]]
        assert sorted(m["To"] for m in rotated) == ["nina@example.com", "noor@example.com"]
        until = day(97)
        for m in rotated:
            assert m["Subject"] == "Your LLM gateway key was rotated"
            assert f"keeps working until the end of {until} (Asia/Kolkata)" in body(m)
            assert "sk-" not in body(m)
        gatewayctl("rotate", "--confirm", "--today", due, env=env, check=True)
        assert len(sink.mails) == 4

        (workspace / "users" / "noor.yaml").unlink()
        gatewayctl("apply", "--confirm", "--today", due, env=env, check=True)
        (rcpts, revoked), = sink.mails[4:]
        assert revoked["Subject"] == "Your LLM gateway key was revoked" and revoked["To"] == "noor@example.com"
        assert "lead@example.com" in rcpts and "users/noor.yaml" in body(revoked)
        gatewayctl("apply", "--confirm", "--today", due, env=env, check=True)
        assert len(sink.mails) == 5


def test_a_failed_send_never_fails_the_apply_and_is_retried_next_run(gatewayctl, workspace, smtp_port):
    write_user(workspace, "omar", "drafting")
    env = smtp_env(smtp_port)  # nothing listens there yet
    out = gatewayctl("apply", "--confirm", env=env)
    assert out.returncode == 0, out.stderr
    assert "warning: notification not delivered, retried next run: key" in out.stderr
    record = last_audit(workspace)
    assert record["status"] == "ok" and len(record["notifications"]["failed"]) == 1
    assert not record["notifications"]["sent"]
    with Sink(smtp_port) as sink:
        again = gatewayctl("apply", "--confirm", env=env, check=True)  # nothing to apply, the notice is retried
        assert "Plan: no changes" in again.stdout and "1 sent" in again.stderr
        assert [m["Subject"] for _, m in sink.mails] == ["Your LLM gateway key is ready"]
    tags = {t["Key"]: t["Value"] for t in secrets_client().describe_secret(SecretId=DEFAULT_PREFIX + "omar")["Tags"]}
    assert tags[notify.LEDGER_TAG_PREFIX + "key"].startswith("key:")


def test_ses_in_moto_after_the_sender_is_verified(gatewayctl, workspace, aws_env):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    write_user(workspace, "pia", "architect", owner="cto@example.com")
    env = {"GATEWAYCTL_NOTIFY": "ses", "GATEWAYCTL_NOTIFY_FROM": SENDER}
    out = gatewayctl("apply", "--confirm", env=env)
    assert out.returncode == 0 and "MessageRejected" in out.stderr  # SES refuses an unverified sender

    import boto3

    boto3.client("sesv2").create_email_identity(EmailIdentity=SENDER)
    backend = ses_backends[DEFAULT_ACCOUNT_ID][aws_env["AWS_REGION"]]
    before = len(backend.sent_messages)
    gatewayctl("apply", "--confirm", env=env, check=True)
    (msg,) = backend.sent_messages[before:]
    assert msg.source == SENDER and msg.destinations == {"ToAddresses": ["pia@example.com"],
                                                          "CcAddresses": ["cto@example.com"]}
    assert msg.subject == "Your LLM gateway key is ready" and "model-reasoning" in msg.body
    assert secret_key("pia") not in msg.body
    gatewayctl("apply", "--confirm", env=env, check=True)
    assert len(backend.sent_messages) == before + 1


@pytest.mark.parametrize("broken", [
    {"GATEWAYCTL_NOTIFY": "smtp", "GATEWAYCTL_NOTIFY_FROM": SENDER},  # no GATEWAYCTL_SMTP_HOST
    {"GATEWAYCTL_NOTIFY": "ses"},  # no sender
    {"GATEWAYCTL_NOTIFY": "email", "GATEWAYCTL_NOTIFY_FROM": SENDER},  # no such channel
], ids=["smtp-without-host", "ses-without-sender", "unknown-channel"])
def test_misconfigured_notifications_never_stop_a_revocation(gatewayctl, workspace, admin, smtp_port, broken):
    write_user(workspace, "quin", "drafting")
    with Sink(smtp_port):  # told about the key, so the revocation has a notice due
        gatewayctl("apply", "--confirm", env=smtp_env(smtp_port), check=True)
    (workspace / "users" / "quin.yaml").unlink()  # offboarding
    out = gatewayctl("apply", "--confirm", env=broken)
    assert out.returncode == 0, out.stderr
    assert managed_keys(admin, "quin") == []  # revoked all the same
    assert "warning:" in out.stderr and "The run goes ahead" in out.stderr
    record = last_audit(workspace)
    assert record["status"] == "ok" and [a["kind"] for a in record["actions"]] == ["revoke"]
    (failed,) = record["notifications"]["failed"]  # the revocation notice, not delivered, on the record
    assert failed.startswith("key revoked:") and "not configured" in failed
    with Sink(smtp_port) as sink:  # once the setting is fixed, the first run sends it
        gatewayctl("apply", "--confirm", env=smtp_env(smtp_port), check=True)
        assert [m["Subject"] for _, m in sink.mails] == ["Your LLM gateway key was revoked"]


def test_the_deploy_script_warns_about_smtp_settings_up_front_and_still_revokes(gatewayctl, workspace, admin, smtp_port,
                                                                                gateway, aws_env, repo_root):
    """scripts/ci/reconcile as deploy.yml runs it, with GATEWAYCTL_NOTIFY=smtp and no SMTP server named."""
    import os
    import shutil
    import subprocess

    if not shutil.which("aws"):
        pytest.skip("scripts/ci/reconcile reads the master key with the aws CLI, which is not on PATH")
    write_user(workspace, "ravi", "coding")
    with Sink(smtp_port):
        gatewayctl("apply", "--confirm", env=smtp_env(smtp_port), check=True)
    (workspace / "users" / "ravi.yaml").unlink()
    shutil.copytree(repo_root / "scripts" / "ci", workspace / "scripts" / "ci")
    secrets_client().create_secret(Name="llm-gateway/litellm-master-key-notify", SecretString=gateway.master_key)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LITELLM_", "GATEWAYCTL", "GITHUB_"))}
    env = {**base, **aws_env, "LITELLM_BASE_URL": gateway.base_url, "GITHUB_SHA": "0" * 40,
           "GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_ACTIONS": "true",
           "GITHUB_STEP_SUMMARY": str(workspace / "summary.md"),
           "LITELLM_MASTER_KEY_SECRET_ID": "llm-gateway/litellm-master-key-notify",
           "GATEWAYCTL": str(repo_root / ".venv" / "bin" / "gatewayctl"),
           "PATH": f"{repo_root / '.venv' / 'bin'}:{os.environ['PATH']}",
           "GATEWAYCTL_NOTIFY": "smtp", "GATEWAYCTL_NOTIFY_FROM": SENDER,
           "GATEWAYCTL_STATE_TABLE": create_state_table()}  # the gateway lock every deploy takes
    proc = subprocess.run(["bash", "scripts/ci/reconcile"], cwd=workspace, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Said before anything runs, as an annotation and in the job summary, naming the missing setting.
    warning = next(line for line in proc.stderr.splitlines() if line.startswith("::warning::"))
    assert "GATEWAYCTL_SMTP_HOST" in warning and proc.stderr.index(warning) < proc.stderr.index("applying")
    assert "GATEWAYCTL_SMTP_HOST" in (workspace / "summary.md").read_text()
    assert managed_keys(admin, "ravi") == []
    assert "not configured" in last_audit(workspace)["notifications"]["failed"][0]


def test_deliver_refuses_a_message_that_carries_a_key():
    class Never:
        def describe(self):
            return "never"

        def send(self, m):
            raise AssertionError("must not be sent")

    class Empty:
        def last(self, *a):
            return None

        def record(self, *a):
            raise AssertionError("must not be recorded")

    leak = notify.Message("u", "key", "key:1", ("u@example.com",), (), "hi", "your key is sk-" + "A" * 43)
    out = notify.deliver([leak], Never(), Empty())
    assert out.sent == [] and "looks like it contains a key" in out.failed[0]
