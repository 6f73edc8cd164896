"""`gatewayctl me`: an employee reads their month (spend, budget, reset, key rotation) with their own AWS
session, from tags the nightly job (`gatewayctl publish-usage`) writes on their key secret; and the small
package clients/gatewayctl-me does the same with nothing else installed.

Why tags and not a LiteLLM route: what a member's key may call on the genuine proxy is measured here
(test_a_members_key_reads_no_spend_route). Who may read the tags (the owner's session only) is proven with
the real policies by tests/test_key_secret_isolation.py (moto evaluates no IAM); here moto stands in for
Secrets Manager and the shared genuine proxy for LiteLLM."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from gatewayctl_me import contract
from helpers import chat, clean_slate, employee_credentials, install_gatewayctl_me, secret_key, secrets_client

from reconciler.plan.keys import USER_KEY_ROUTES

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
UV = REPO / ".venv-installer" / "bin" / "uv"


@pytest.fixture
def clean(admin, aws_env):
    clean_slate(admin)


def member_spend(admin: httpx.Client, user_id: str, team_id: str = "tier-drafting") -> Decimal:
    info = admin.get("/team/info", params={"team_id": team_id, "key_limit": 1}).json()
    return Decimal(str(next(m for m in info["team_memberships"] if m["user_id"] == user_id)["spend"]))


def spend(gateway, admin, user_id: str, tokens: int) -> Decimal:
    """Spend `tokens` input tokens (model-cheap: $1 per million) and wait until LiteLLM has counted them."""
    before = member_spend(admin, user_id)
    answer = chat(gateway.base_url, secret_key(user_id), "model-cheap", f"x [[usage in={tokens} out=0]]")
    assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + 60
    while (now := member_spend(admin, user_id)) <= before:
        assert time.monotonic() < deadline, "LiteLLM never counted the spend"
        time.sleep(1)
    return now


def usage_tags(user_id: str) -> dict[str, str]:
    tags = secrets_client().describe_secret(SecretId=contract.DEFAULT_PREFIX + user_id)["Tags"]
    return {t["Key"]: t["Value"] for t in tags if t["Key"].startswith(contract.USAGE_TAG_PREFIX)}


def as_employee(aws_env: dict, user_id: str) -> dict:
    return {**aws_env, **employee_credentials(f"{user_id}@example.com", user_id)}


@pytest.mark.litellm_contract
def test_a_members_key_reads_no_spend_route(clean, gatewayctl, gateway, admin):
    """The measurement behind the choice (docs/adr/0007-employee-usage-in-secret-tags.md). With the routes
    the plan gives a member's key (the model APIs, USER_KEY_ROUTES), every LiteLLM route that tells spend
    or budget answers 403. Widened by /key/info and /user/info, a key reads only lifetime spend (of the key,
    of the user): neither route holds the member's budget row (this window's spend, the budget, the reset)
    that LiteLLM enforces."""
    gatewayctl("apply", "--confirm", check=True)
    key = secret_key("alice")
    auth = {"Authorization": f"Bearer {key}"}

    def get(route: str, **params) -> httpx.Response:
        return httpx.get(gateway.base_url + route, headers=auth, params=params, timeout=30, trust_env=False)

    spend_routes = (("/key/info", {}), ("/key/info", {"key": key}), ("/user/info", {}),
                    ("/user/info", {"user_id": "alice"}), ("/team/info", {"team_id": "tier-drafting"}),
                    ("/spend/logs", {}), ("/spend/logs/v2", {}), ("/user/daily/activity", {}),
                    ("/global/spend/logs", {}), ("/customer/info", {}))
    answers = {(route, tuple(params)): get(route, **params) for route, params in spend_routes}
    assert {r.status_code for r in answers.values()} == {403}, {k: r.status_code for k, r in answers.items()}
    assert all("Only allowed to call routes: ['/v1/chat/completions'" in r.text for r in answers.values())
    assert chat(gateway.base_url, key, "model-cheap").status_code == 200  # the key itself works

    token = admin.get("/key/info", params={"key": key}).json()["key"]
    admin.post("/key/update", json={"key": token, "allowed_routes": [*USER_KEY_ROUTES, "/key/info", "/user/info"]}
               ).raise_for_status()
    deadline = time.monotonic() + 30
    while (own := get("/key/info")).status_code != 200:  # the key's routes reach LiteLLM's cache a little later
        assert time.monotonic() < deadline, own.text
        time.sleep(1)
    info = own.json()["info"]
    assert info["max_budget"] is None and info["budget_reset_at"] is None and "spend" in info  # the key's, ever
    user = get("/user/info").json()["user_info"]
    assert user["max_budget"] is None and user["budget_reset_at"] is None
    assert get("/user/info", user_id="bob").status_code == 403


def test_me_shows_the_month_the_nightly_job_published(clean, gatewayctl, gateway, admin, aws_env, workspace, day):
    bob_file = workspace / "users" / "bob.yaml"  # Coding, $20, with a budget exception of $10 this month
    bob_file.write_text(bob_file.read_text() + f"budget_exception:\n  extra_usd: 10.00\n  until: {day(10)}\n"
                        "  ticket: FIN-21\n")
    gatewayctl("apply", "--confirm", check=True)
    alice = as_employee(aws_env, "alice")
    before = gatewayctl("me", env=alice, check=True)
    assert "not published yet" in before.stdout
    spent = spend(gateway, admin, "alice", 250_000)  # $0.25
    dry = gatewayctl("publish-usage", check=True)
    assert "alice: $" in dry.stdout and "dry run" in dry.stderr and usage_tags("alice") == {}
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    gatewayctl("publish-usage", "--confirm", check=True)  # what the nightly job runs (scripts/ci/publish-usage)
    tags = usage_tags("alice")
    assert Decimal(tags[contract.SPEND_TAG]) == spent  # exactly what LiteLLM counts for the member
    assert tags[contract.BUDGET_TAG] == "2.00" and tags[contract.TIER_TAG] == "Drafting"
    assert tags[contract.MODELS_TAG] == "model-cheap"
    resets = dt.datetime.fromisoformat(tags[contract.RESETS_TAG])
    assert resets.utcoffset() == dt.timedelta(hours=5, minutes=30) and (resets.day, resets.hour) == (1, 0)
    rotates = dt.date.fromisoformat(tags[contract.ROTATES_TAG])
    assert rotates == started.date() + dt.timedelta(days=90)  # Drafting's key_max_age_days, from today's key
    assert dt.datetime.fromisoformat(tags[contract.AS_OF_TAG].replace("Z", "+00:00")) >= started

    me = gatewayctl("me", env=alice, check=True).stdout
    assert "gateway user:  alice" in me and "tier:          Drafting (model model-cheap)" in me
    pct = int(spent * 100 / 2)
    assert f"spent:         ${spent.quantize(Decimal('0.01'), 'ROUND_DOWN')} of your $2.00 budget ({pct}%)" in me
    assert f"budget resets: {resets:%Y-%m-%d} 00:00 UTC+05:30" in me
    assert f"key rotates:   {rotates} (in 90 days)" in me or f"key rotates:   {rotates} (in 89 days)" in me
    assert "as of:" in me and "calls since then are not counted" in me
    assert secret_key("alice") not in me
    # bob's own month is his, published by the same run, his budget exception included (his session reads
    # his; IAM keeps alice's from him: tests/test_key_secret_isolation.py)
    bob = gatewayctl("me", env=as_employee(aws_env, "bob"), check=True).stdout
    assert "gateway user:  bob" in bob and "spent:         $0.00 of your $30.00 budget (0%)" in bob, bob


@pytest.fixture(scope="module")
def small_package(tmp_path_factory) -> Path:
    return install_gatewayctl_me(tmp_path_factory.mktemp("gatewayctl-me") / "venv")


def test_the_small_package_installs_alone_and_imports_little(small_package):
    listed = subprocess.run([str(UV), "pip", "freeze", "--python", str(small_package / "python")],
                            capture_output=True, text=True, check=True).stdout
    names = {line.split("==")[0].split(" @ ")[0].lower() for line in listed.splitlines() if line}
    assert names == {"gatewayctl-me", "botocore", "jmespath", "python-dateutil", "six", "urllib3"}, names
    probe = ("import sys, gatewayctl_me.cli as c; c.build_parser(); import botocore.session; "
             "print(sorted({m.split('.')[0] for m in sys.modules}))")
    loaded = subprocess.run([str(small_package / "python"), "-c", probe], capture_output=True, text=True,
                            check=True, cwd=small_package).stdout
    for heavy in ("reconciler", "litellm", "yaml", "boto3", "httpx", "jsonschema", "checkov"):
        assert f"'{heavy}'" not in loaded, heavy


def test_the_small_package_alone_reads_the_key_and_the_month(clean, gatewayctl, gateway, admin, aws_env,
                                                              small_package, tmp_path):
    gatewayctl("apply", "--confirm", check=True)
    spend(gateway, admin, "alice", 100_000)
    gatewayctl("publish-usage", "--confirm", check=True)
    # A terminal with no checkout: only the small package's bin, the AWS endpoint and alice's session.
    env = {"PATH": f"{small_package}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8", "CI": "",
           "AWS_ENDPOINT_URL": aws_env["AWS_ENDPOINT_URL"], **employee_credentials("alice@example.com", "alice")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["gatewayctl", *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=60, check=False)

    me = run("me", "--region", "ap-south-1")
    assert me.returncode == 0, me.stderr
    full = gatewayctl("me", env=as_employee(aws_env, "alice"), check=True).stdout
    strip = lambda text: [ln for ln in text.splitlines() if not ln.startswith("as of:")]  # noqa: E731 - hours ago
    assert strip(me.stdout) == strip(full)  # the same code: the full gatewayctl is built on this package
    assert "gateway user:  alice" in me.stdout and "of your $2.00 budget" in me.stdout
    key = run("key", "show", "--me", "--region", "ap-south-1", "--reveal")
    assert key.returncode == 0 and key.stdout == secret_key("alice") + "\n" and key.stderr == ""
    env["AWS_REGION"] = "ap-south-1"
    shown = run("key", "show", "--user", "alice")
    assert shown.returncode == 0 and "llm-gateway/users/alice" in shown.stdout and "hidden" in shown.stdout
    nobody = run("me", "--user", "nobody")
    assert nobody.returncode == 1 and "llm-gateway/users/nobody: no such secret" in nobody.stderr
    assert "Traceback" not in nobody.stderr


def test_the_nightly_script_publishes_without_printing_anyones_spend(clean, gatewayctl, gateway, admin, aws_env,
                                                                     workspace, tmp_path):
    """scripts/ci/publish-usage as rotate.yml runs it, from a copy of the repository: the master key from
    Secrets Manager, every member's month on their secret, and no member's spend in the job's log or summary."""
    import shutil

    gatewayctl("apply", "--confirm", check=True)
    spent = spend(gateway, admin, "alice", 120_000)
    shutil.copytree(REPO / "scripts" / "ci", workspace / "scripts" / "ci")
    sm = secrets_client()
    master = "llm-gateway/litellm-master-key-usage"  # pragma: allowlist secret
    sm.create_secret(Name=master, SecretString=gateway.master_key)
    summary = tmp_path / "summary.md"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LITELLM_", "GATEWAYCTL", "GITHUB_"))}
    env = {**base, **aws_env, "LITELLM_BASE_URL": gateway.base_url, "GITHUB_SHA": "0" * 40,
           "LITELLM_MASTER_KEY_SECRET_ID": master,
           "GATEWAYCTL": str(REPO / ".venv" / "bin" / "gatewayctl"), "GITHUB_STEP_SUMMARY": str(summary)}
    try:
        proc = subprocess.run([str(workspace / "scripts" / "ci" / "publish-usage")], cwd=workspace, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
    finally:
        sm.delete_secret(SecretId=master, ForceDeleteWithoutRecovery=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    logged = proc.stdout + proc.stderr + summary.read_text() + (workspace / "publish-usage.txt").read_text()
    assert "published the month of 3 member(s)" in logged
    assert str(spent) not in logged and "$" not in logged and gateway.master_key not in logged
    assert {uid: Decimal(usage_tags(uid)[contract.SPEND_TAG]) for uid in ("alice", "bob", "carol")} == {
        "alice": spent, "bob": 0, "carol": 0}
