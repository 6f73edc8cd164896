"""Budget alerts on the genuine LiteLLM proxy: `gatewayctl notify` over SMTP into a real local SMTP
server (aiosmtpd) and over Amazon SES in moto; and what LiteLLM's own member alerts do.

The tests run on the clock-shifted proxy (tests/conftest.py `clock_gateway`, shared with the budget
guard suite): tests/clock_shift moves its clock, the monthly budget reset job included (run every few
seconds), so the test sees LiteLLM itself reset a member's spend on the 1st; and LiteLLM's own email
alerting is switched on (`alerting: ["email"]`, SMTP into a second sink) to measure it. gatewayctl's
tier teams carry no LiteLLM alert settings, so that sink stays empty unless a test configures LiteLLM's
alerts."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import time
from email.message import Message as Mail
from pathlib import Path

import httpx
import pytest
from helpers import (
    SmtpSink,
    chat,
    reset_gateway,
    reset_secrets,
    run_gatewayctl_in_process,
    secret_key,
    secrets_client,
    write_user,
)

from reconciler.desired.policy import BUDGET_TZ
from reconciler.live.keystore import DEFAULT_PREFIX
from reconciler.notifications import notify

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
SENDER = "llm-gateway@example.com"
OWNER = "lead@example.com"


Sink = SmtpSink


@pytest.fixture
def alert_gateway(clock_proxy):
    """The clock-shifted proxy with LiteLLM's own mail sink emptied."""
    clock_proxy.litellm_mail.mails.clear()
    return clock_proxy


@pytest.fixture
def admin(alert_gateway):
    h = alert_gateway.harness
    with httpx.Client(base_url=h.base_url, headers={"Authorization": f"Bearer {h.master_key}"}, timeout=60,
                      trust_env=False) as c:
        yield c


@pytest.fixture
def ctl(workspace, alert_gateway, aws_env, admin):
    h = alert_gateway.harness
    reset_gateway(admin)
    reset_secrets()
    for p in (workspace / "users").glob("*.yaml"):
        p.unlink()

    def run(*args: str, env: dict | None = None, ok=(0,)) -> subprocess.CompletedProcess:
        full = {**os.environ, **aws_env, "LITELLM_BASE_URL": h.base_url, "LITELLM_MASTER_KEY": h.master_key,
                "GITHUB_SHA": "0" * 40, "GATEWAYCTL_NOTIFY": "none", **(env or {})}
        proc = run_gatewayctl_in_process(args, workspace, full)
        assert proc.returncode in ok, f"gatewayctl {args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    return run


def smtp(port: int) -> dict:
    return {"GATEWAYCTL_NOTIFY": "smtp", "GATEWAYCTL_NOTIFY_FROM": SENDER, "GATEWAYCTL_SMTP_HOST": "127.0.0.1",
            "GATEWAYCTL_SMTP_PORT": str(port)}


def member(admin, user_id: str, team_id: str = "tier-drafting") -> dict:
    info = admin.get("/team/info", params={"team_id": team_id, "key_limit": 1}).json()
    return next(m for m in info["team_memberships"] if m["user_id"] == user_id)


def spend_to(admin, h, key: str, user_id: str, target: float, team_id: str = "tier-drafting") -> None:
    """Spend until the member's recorded spend is `target` dollars (model-cheap: $1 per 1M input tokens)."""
    now = member(admin, user_id, team_id)["spend"]
    tokens = round((target - now) * 1_000_000)
    r = chat(h.base_url, key, "model-cheap", f"x [[usage in={tokens} out=0]]")
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 60
    while member(admin, user_id, team_id)["spend"] < target - 1e-6:
        assert time.monotonic() < deadline, f"spend of {user_id} never reached {target}"
        time.sleep(1)


def body(mail: Mail) -> str:
    return mail.get_payload(decode=True).decode()


def ledger(user_id: str) -> str | None:
    tags = secrets_client().describe_secret(SecretId=DEFAULT_PREFIX + user_id).get("Tags", [])
    return {t["Key"]: t["Value"] for t in tags}.get(notify.LEDGER_TAG_PREFIX + "budget")


def tier_reset_at(admin, team_id: str = "tier-drafting") -> dt.datetime:
    budget_id = admin.get("/team/info", params={"team_id": team_id}).json()["team_info"]["metadata"][
        "team_member_budget_id"]
    row = next(b for b in admin.get("/budget/list").json() if b["budget_id"] == budget_id)
    value = dt.datetime.fromisoformat(row["budget_reset_at"].replace("Z", "+00:00"))
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def month(moment: dt.datetime) -> str:
    return (moment - dt.timedelta(seconds=1)).astimezone(BUDGET_TZ).strftime("%Y-%m")


def test_each_threshold_fires_once_per_period_and_rearms_after_litellms_monthly_reset(
        ctl, workspace, alert_gateway, admin):
    h = alert_gateway.harness
    write_user(workspace, "alice", "drafting", owner=OWNER)  # Drafting: $2.00, alerts at 80, 95, 100%
    ctl("apply", "--confirm")
    key = secret_key("alice")
    reset_at = tier_reset_at(admin)
    period = month(reset_at)
    name = dt.date.fromisoformat(period + "-01").strftime("%B %Y")

    spend_to(admin, h, key, "alice", 1.70)
    dry = ctl("notify")  # no --confirm: lists what is due, sends nothing
    assert f"alice (drafting): $1.70 of $2.00 (85%) in {period}: alert 80% due" in dry.stdout
    assert "dry run: nothing was sent" in dry.stderr and ledger("alice") is None

    sink = Sink()
    with sink as got:
        env = smtp(sink.port)
        out = ctl("notify", "--confirm", env=env)
        assert "1 sent, 0 already sent, 0 failed" in out.stdout
        (rcpts, mail), = got.mails
        assert set(rcpts) == {"alice@example.com", OWNER} and mail["To"] == "alice@example.com"
        assert mail["Cc"] == OWNER and mail["From"] == SENDER
        assert mail["Subject"] == f"LLM gateway: 80% of your {name} budget used"
        assert "You have used $1.70 of your $2.00 budget" in body(mail) and "HTTP 422" in body(mail)
        assert ledger("alice") == f"{period}:80"

        again = ctl("notify", "--confirm", env=env)  # nothing twice
        assert len(got.mails) == 1 and "80% already announced" in again.stdout

        spend_to(admin, h, key, "alice", 1.92)
        ctl("notify", "--confirm", env=env)
        spend_to(admin, h, key, "alice", 2.02)
        ctl("notify", "--confirm", env=env)
        ctl("notify", "--confirm", env=env)
        assert [m["Subject"] for _, m in got.mails] == [f"LLM gateway: 80% of your {name} budget used",
                                                        f"LLM gateway: 95% of your {name} budget used",
                                                        f"LLM gateway: your {name} budget is used up"]
        assert "The gateway now refuses your calls" in body(got.mails[-1][1])
        assert chat(h.base_url, key, "model-cheap").status_code == 422
        assert ledger("alice") == f"{period}:100"

        # Past the window's end by gatewayctl's clock, before LiteLLM's reset job ran: that spend is
        # still the old window's; nothing is sent again.
        late = reset_at + dt.timedelta(hours=1)
        out = ctl("notify", "--confirm", "--now", late.isoformat(), env=env)
        assert "LiteLLM has not reset it yet: nothing sent" in out.stdout and len(got.mails) == 3

        # Now LiteLLM's own clock passes the 1st: its reset job zeroes the member's spend and opens
        # the next window, and the thresholds re-arm.
        alert_gateway.move_clock((late - dt.datetime.now(dt.UTC)).total_seconds(), reset_job=True)
        try:
            deadline = time.monotonic() + 90
            while member(admin, "alice")["spend"] != 0 or tier_reset_at(admin) <= reset_at:
                assert time.monotonic() < deadline, "LiteLLM's reset job did not reset the month"
                time.sleep(1)
            following = month(tier_reset_at(admin))
            assert following != period
            ctl("notify", "--confirm", "--now", late.isoformat(), env=env)
            assert len(got.mails) == 3  # nothing spent in the new month
            spend_to(admin, h, key, "alice", 1.65)  # admitted again: LiteLLM reset the budget
            ctl("notify", "--confirm", "--now", late.isoformat(), env=env)
            ctl("notify", "--confirm", "--now", late.isoformat(), env=env)
        finally:
            alert_gateway.move_clock(0)
        (_, rearmed), = got.mails[3:]
        new_name = dt.date.fromisoformat(following + "-01").strftime("%B %Y")
        assert rearmed["Subject"] == f"LLM gateway: 80% of your {new_name} budget used"
        assert ledger("alice") == f"{following}:80"
        for _, m in got.mails:
            assert key not in body(m) and "sk-" not in body(m) and key not in m["Subject"]
    assert alert_gateway.litellm_mail.mails == []  # LiteLLM sent nothing of its own for the tier teams
    record = [line for line in (workspace / "gatewayctl-audit.jsonl").read_text().splitlines() if '"notify"' in line]
    assert len(record) == 9 and '"status": "ok"' in record[-1]


def test_ses_in_moto_once_and_a_failed_send_is_retried(ctl, workspace, alert_gateway, admin, aws_env):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    h = alert_gateway.harness
    write_user(workspace, "bob", "drafting", owner="cto@example.com")
    ctl("apply", "--confirm")
    key = secret_key("bob")
    spend_to(admin, h, key, "bob", 1.65)
    import boto3

    ses = boto3.client("sesv2")

    def unverify() -> None:  # moto's SES lives for the session: leave it as other tests expect it
        if any(i["IdentityName"] == SENDER for i in ses.list_email_identities()["EmailIdentities"]):
            ses.delete_email_identity(EmailIdentity=SENDER)

    env = {"GATEWAYCTL_NOTIFY": "ses", "GATEWAYCTL_NOTIFY_FROM": SENDER}
    unverify()
    try:
        failed = ctl("notify", "--confirm", env=env, ok=(1,))  # SES refuses an unverified sender
        assert "MessageRejected" in failed.stdout and "retried next run" in failed.stdout and ledger("bob") is None

        ses.create_email_identity(EmailIdentity=SENDER)
        backend = ses_backends[DEFAULT_ACCOUNT_ID][aws_env["AWS_REGION"]]
        before = len(backend.sent_messages)
        ctl("notify", "--confirm", env=env)
        (msg,) = backend.sent_messages[before:]
        assert msg.source == SENDER and msg.destinations == {"ToAddresses": ["bob@example.com"],
                                                              "CcAddresses": ["cto@example.com"]}
        assert msg.subject.startswith("LLM gateway: 80% of your ") and "$1.65 of your $2.00 budget" in msg.body
        assert key not in msg.body and "sk-" not in msg.body
        ctl("notify", "--confirm", env=env)
        assert len(backend.sent_messages) == before + 1
    finally:
        unverify()


def test_an_unreachable_ledger_is_an_error_message_not_a_traceback(ctl, workspace, alert_gateway, admin):
    h = alert_gateway.harness
    write_user(workspace, "bob", "drafting")
    ctl("apply", "--confirm")
    spend_to(admin, h, secret_key("bob"), "bob", 1.65)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    failed = ctl("notify", env={"AWS_ENDPOINT_URL": closed, "AWS_MAX_ATTEMPTS": "1"}, ok=(1,))
    assert "error: cannot read the notification ledger (EndpointConnectionError" in failed.stderr, failed.stderr
    assert "Traceback" not in failed.stderr and failed.stdout == ""


@pytest.mark.litellm_contract
@pytest.mark.contract_only  # a measurement of a feature the project leaves off: on a LiteLLM bump only
def test_litellm_own_member_alerts_deliver_without_a_licence_but_repeat_within_one_period(
        admin, alert_gateway):
    """The measurement behind not using LiteLLM's `team_member_max_budget_alert_emails`: it works
    without a licence, but one list of recipients per team (no per-member owner), and its
    deduplication is a time-to-live cache in each process (24 h by default), not the budget
    period: once it lapses the same threshold is sent again in the same month."""
    h = alert_gateway.harness
    reset_gateway(admin)
    got = alert_gateway.litellm_mail
    admin.post("/team/new", json={
        "team_id": "native", "team_alias": "Native", "models": ["model-cheap"], "team_member_budget": 2.0,
        "team_member_budget_duration": "1mo",
        "metadata": {"team_member_max_budget_alert_emails": {"80": ["all-managers@example.com"]}}}).raise_for_status()
    admin.post("/user/new", json={"user_id": "nat", "user_email": "nat@example.com", "auto_create_key": False,
                                  "user_role": "internal_user_viewer"}).raise_for_status()
    admin.post("/team/member_add", json={"team_id": "native",
                                         "member": {"user_id": "nat", "role": "user"}}).raise_for_status()
    key = admin.post("/key/generate", json={"user_id": "nat", "team_id": "native",
                                            "models": ["all-team-models"]}).json()["key"]
    spend_to(admin, h, key, "nat", 1.70, team_id="native")

    def alerts_after_a_call(expected: int) -> list[tuple[list[str], Mail]]:
        assert chat(h.base_url, key, "model-cheap").status_code == 200  # LiteLLM checks when it admits a call
        deadline = time.monotonic() + 30
        while len(got.mails) < expected and time.monotonic() < deadline:
            time.sleep(0.5)
        return list(got.mails)

    first = alerts_after_a_call(2)
    assert sorted(r for rcpts, _ in first for r in rcpts) == ["all-managers@example.com", "nat@example.com"]
    assert {m["Subject"] for _, m in first} == {"LiteLLM: Team Member Budget Alert - 80% of Team Member Budget "
                                                "Reached"}
    assert len(alerts_after_a_call(2)) == 2  # deduplicated while the cache entry lives
    time.sleep(alert_gateway.native_alert_ttl_s + 1)
    assert len(alerts_after_a_call(4)) == 4  # the same month, the same 80%: sent again
    reset_gateway(admin)


def test_the_ci_script_reads_the_master_key_from_secrets_manager_and_sends_once(
        ctl, workspace, alert_gateway, admin, aws_env):
    """scripts/ci/budget-alerts as the rotate workflow runs it, from a copy of the repository."""
    import shutil

    h = alert_gateway.harness
    write_user(workspace, "cleo", "drafting", owner=OWNER)
    ctl("apply", "--confirm")
    key = secret_key("cleo")
    spend_to(admin, h, key, "cleo", 1.90)
    shutil.copytree(REPO / "scripts" / "ci", workspace / "scripts" / "ci")
    secrets_client().create_secret(Name="llm-gateway/litellm-master-key", SecretString=h.master_key)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LITELLM_", "GATEWAYCTL", "GITHUB_"))}
    env = {**base, **aws_env, "LITELLM_BASE_URL": h.base_url, "GITHUB_SHA": "0" * 40,
           "LITELLM_MASTER_KEY_SECRET_ID": "llm-gateway/litellm-master-key",
           "GATEWAYCTL": str(REPO / ".venv" / "bin" / "gatewayctl")}

    def script(extra: dict) -> subprocess.CompletedProcess:
        return subprocess.run([str(workspace / "scripts" / "ci" / "budget-alerts")], cwd=workspace,
                              env={**env, **extra}, capture_output=True, text=True, timeout=300, check=False)

    listed = script({})  # no channel configured: listed, not sent
    assert listed.returncode == 0, listed.stderr
    assert "are listed, not sent" in listed.stderr and "alert 80%, 95% due" in listed.stdout
    assert h.master_key not in listed.stdout + listed.stderr
    sink = Sink()
    with sink as got:
        for _ in range(2):
            sent = script(smtp(sink.port))
            assert sent.returncode == 0, sent.stdout + sent.stderr
        (rcpts, mail), = got.mails
        assert set(rcpts) == {"cleo@example.com", OWNER} and "95% of your" in mail["Subject"]
        assert "That passes the 80% and 95% alerts since the last check." in body(mail)
    report = (workspace / "budget-alerts.txt").read_text()
    assert "80%, 95% already announced" in report and "0 sent, 0 already sent, 0 failed" in report
    assert h.master_key not in sent.stdout + sent.stderr + report
