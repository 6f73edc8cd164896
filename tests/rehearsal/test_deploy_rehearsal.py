"""The deploy pipeline, run as CI runs it, twice, against an AWS emulator (issue #9).

The scripts are the ones the workflows call (scripts/ci/*, terraform/scripts/*), run from a copy of
the repository that commits like main. AWS is moto's server (tests/rehearsal/aws_emulator.py); the
gateway is the genuine LiteLLM proxy started from the task definition Terraform registered, reading
its config from the S3 object Terraform uploaded and its secrets from the Secrets Manager entries
bootstrap-secrets filled. The steps run in file order; a failed step skips the rest.

    make test                                   (all of it)
    .venv/bin/python -m pytest -m rehearsal     (only this)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import shutil
import time
import urllib.parse
from pathlib import Path

import httpx
import iam_analysis
import pytest
import yaml
from github_emulator import GitHubEmulator
from helpers import USER_TEMPLATE, SmtpSink
from network import ALB, INTERNET, RUNNER, Network
from stack import GITHUB_REPOSITORY, Rehearsal

from reconciler.desired.policy import BUDGET_TZ
from reconciler.live.client import check_base_url
from reconciler.notifications.notify import LEDGER_TAG_PREFIX

pytestmark = [pytest.mark.rehearsal, pytest.mark.integration, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH"),
              pytest.mark.timeout(1800),
              # One module-scoped stack: under pytest-xdist (--dist loadgroup) every step runs on one worker.
              pytest.mark.xdist_group("rehearsal")]

PROD = "terraform/environments/production"
STATE_KEY = "production/terraform.tfstate"
PUBLIC_URL = "https://llm.example.com"  # the certificate's name, pointed at the ALB (docs/runbook.md, "First deploy")
# LiteLLM's admin API, a sample of every family the ALB must not serve (docs/adr/0006).
ADMIN_ROUTES = [("GET", "/key/list"), ("POST", "/key/generate"), ("GET", "/user/list"), ("POST", "/user/new"),
                ("GET", "/team/list"), ("POST", "/team/new"), ("GET", "/budget/list"), ("GET", "/spend/logs"),
                ("GET", "/global/spend/report"), ("GET", "/model/info"), ("POST", "/model/new"), ("GET", "/ui"),
                ("GET", "/v1/agents"), ("GET", "/v1/mcp/server"), ("GET", "/v1/access_group"),
                ("GET", "/organization/list"), ("GET", "/customer/list"), ("GET", "/config/yaml"),
                ("GET", "/sso/key/generate"), ("GET", "/credentials")]


@pytest.fixture(scope="module")
def rh(tmp_path_factory: pytest.TempPathFactory):
    if shutil.which("aws") is None:
        pytest.fail("the AWS CLI (`aws`) is not on PATH; bootstrap-secrets and CI's scripts need it")
    r = Rehearsal(tmp_path_factory.mktemp("rehearsal"))
    r.copy_repository()
    r.start_emulator()
    yield r
    r.close()


@pytest.fixture(scope="module")
def github():
    """GitHub's issues and comments, for the report jobs' scripts."""
    gh = GitHubEmulator()
    yield gh
    gh.close()


def github_env(github: GitHubEmulator, **extra: str) -> dict[str, str]:
    return {"GITHUB_API_URL": github.url, "GITHUB_TOKEN": "ghs_rehearsal", "GITHUB_REPOSITORY": GITHUB_REPOSITORY,
            **extra}


@pytest.fixture(scope="module")
def state() -> dict:
    """What one step hands to the next."""
    return {}


def admin(rh: Rehearsal) -> httpx.Client:
    return httpx.Client(base_url=rh.gateway.base_url, headers={"Authorization": f"Bearer {rh.gateway.master_key}"},
                        timeout=60, trust_env=False)


def user_key(rh: Rehearsal, user_id: str) -> str:
    value = rh.aws("secretsmanager").get_secret_value(SecretId=f"llm-gateway/users/{user_id}")["SecretString"]
    return json.loads(value)["api_key"]


def chat(rh: Rehearsal, key: str, model: str = "model-cheap") -> int:
    return httpx.post(f"{rh.gateway.base_url}/v1/chat/completions", timeout=60, trust_env=False,
                      headers={"Authorization": f"Bearer {key}"},
                      json={"model": model, "messages": [{"role": "user", "content": "hello"}]}).status_code


def plan_actions(rh: Rehearsal) -> list[tuple[str, str]]:
    plan = json.loads((rh.repo / "plan.json").read_text())
    return sorted((a["kind"], a["target"]) for a in plan["actions"])


def add_user(rh: Rehearsal, user_id: str, tier: str = "coding", extra: str = "") -> None:
    (rh.repo / "users" / f"{user_id}.yaml").write_text(
        USER_TEMPLATE.format(id=user_id, name=f"User {user_id}", email=f"{user_id}@example.com", tier=tier,
                             owner="approver@example.com") + extra)


# ---------------------------------------------------------------------------- account bootstrap
def test_bootstrap_account_keeps_its_state_in_the_bucket_it_creates(rh: Rehearsal, state: dict):
    proc = rh.script("terraform/scripts/bootstrap-account", "--auto-approve")
    # "gh secret set NAME --repo OWNER/REPO --body VALUE", one per setting
    settings = {p[3]: p[7] for p in (line.split() for line in proc.stdout.splitlines())
                if p[:3] == ["gh", "secret", "set"]}
    assert set(settings) == {"AWS_TERRAFORM_ROLE_ARN", "AWS_TERRAFORM_PLAN_ROLE_ARN", "TF_STATE_BUCKET",
                             "TF_STATE_KMS_KEY_ARN"}, proc.stdout
    rh.settings.update({k: settings[k] for k in ("TF_STATE_BUCKET", "TF_STATE_KMS_KEY_ARN")})
    s3 = rh.aws("s3")
    head = s3.head_object(Bucket=settings["TF_STATE_BUCKET"], Key="bootstrap/terraform.tfstate")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == settings["TF_STATE_KMS_KEY_ARN"]
    assert not (rh.repo / "terraform/bootstrap/terraform.tfstate").exists(), "local state must be gone after the move"
    assert s3.get_bucket_versioning(Bucket=settings["TF_STATE_BUCKET"])["Status"] == "Enabled"
    assert "use_default" in proc.stderr and "job_workflow_ref" in proc.stderr  # the OIDC subject step is printed
    # A second run reads the state from the bucket and changes nothing.
    again = rh.script("terraform/scripts/bootstrap-account", "--auto-approve")
    assert "0 added, 0 changed, 0 destroyed" in again.stderr or "No changes" in again.stderr, again.stderr[-2000:]
    state["bootstrap_versions"] = len(s3.list_object_versions(Bucket=settings["TF_STATE_BUCKET"],
                                                              Prefix="bootstrap/")["Versions"])


# ---------------------------------------------------------------------------- deploy 1
def test_first_deploy_from_an_empty_account(rh: Rehearsal, state: dict):
    certificate = rh.aws("acm").request_certificate(DomainName="llm.example.com")["CertificateArn"]
    rh.settings["TF_VAR_certificate_arn"] = certificate
    # Runbook step 3, made in the console (the emulator has no CodeConnections): its ARN.
    rh.settings["TF_VAR_github_connection_arn"] = (
        "arn:aws:codeconnections:ap-south-1:123456789012:connection/0f0e0d0c-0b0a-0908-0706-050403020100")

    # 1. The service stays at zero tasks until its secrets exist (docs/runbook.md, "First deploy").
    rh.script("scripts/ci/terraform-apply", env={"TF_VAR_gateway_paused": "true"})
    s3 = rh.aws("s3")
    bucket = rh.settings["TF_STATE_BUCKET"]
    head = s3.head_object(Bucket=bucket, Key=STATE_KEY)
    assert head["SSEKMSKeyId"] == rh.settings["TF_STATE_KMS_KEY_ARN"]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert f"{STATE_KEY}.tflock" not in keys, "the state lock must be released after the apply"
    outputs = rh.terraform_output()
    service = rh.aws("ecs").describe_services(cluster=outputs["cluster_name"], services=[outputs["service_name"]])
    assert service["services"][0]["desiredCount"] == 0

    # 2. bootstrap-secrets, for real: values generated by Secrets Manager, one-off tasks run on ECS.
    first = rh.script("terraform/scripts/bootstrap-secrets")
    assert first.stdout.count("set    ") == 3, first.stdout
    second = rh.script("terraform/scripts/bootstrap-secrets")
    assert second.stdout.count("keep   ") == 3 and "set    " not in second.stdout, second.stdout  # idempotent
    ecs = rh.aws("ecs")
    arns = ecs.list_tasks(cluster=outputs["cluster_name"])["taskArns"]
    tasks = ecs.describe_tasks(cluster=outputs["cluster_name"], tasks=arns)["tasks"] if arns else []
    assert all(t["lastStatus"] == "STOPPED" for t in tasks), [t["lastStatus"] for t in tasks]
    families = sorted(t["taskDefinitionArn"].split("/")[-1].rsplit(":", 1)[0] for t in tasks)
    assert families == ["llm-gateway-db-bootstrap", "llm-gateway-db-bootstrap",
                        "llm-gateway-migrate", "llm-gateway-migrate"], families
    master = rh.aws("secretsmanager").get_secret_value(SecretId=outputs["master_key_secret_name"])["SecretString"]
    assert master.startswith("sk-") and len(master) == 51

    # 3. Bedrock access before the first call (docs/runbook.md, "Bedrock access"): the emulated account,
    # like a fresh one, has not submitted Anthropic's use case; preflight names each model and the step.
    blocked = rh.script("scripts/ci/preflight", expect=(1,))
    # 3 models and model-cheap's fallback profile (policies/models.yaml `fallback:`), which the gateway calls too
    assert blocked.stdout.count("CANNOT be called") == 4 and "first-use form" in blocked.stdout, blocked.stdout
    rh.aws("bedrock").put_use_case_for_model_access(formData=b'{"companyName": "Example Org"}')
    assert rh.script("scripts/ci/preflight").stdout.count("can be called") == 4

    # 4. The merge that follows deploys unpaused.
    rh.script("scripts/ci/terraform-apply")
    service = ecs.describe_services(cluster=outputs["cluster_name"], services=[outputs["service_name"]])
    assert service["services"][0]["desiredCount"] == 2
    rh.settings.update({k: v for k, v in outputs["github_actions_secrets"].items()})
    state["outputs"] = outputs


def test_the_gateway_runs_from_the_task_definition_terraform_registered(rh: Rehearsal, state: dict):
    gw = rh.start_gateway()
    # From here on every script reaches the gateway as its workflow job would: through the load balancer
    # and security groups Terraform created in the emulator, from the network its job runs in.
    rh.settings["LITELLM_BASE_URL"] = PUBLIC_URL
    upstream = httpx.URL(gw.base_url)
    rh.network = Network(rh.aws, state["outputs"], (upstream.host, upstream.port), public_host="llm.example.com")
    assert rh.settings["LITELLM_ADMIN_URL"] == f"http://{rh.network.private_name}:4000"
    # The scripts reach it through a relay on 127.0.0.1 (no DNS here), so gatewayctl's refusal of clear-text
    # URLs never sees the real one; it must accept it, or every admin job fails on the runner.
    check_base_url(rh.settings["LITELLM_ADMIN_URL"])
    with admin(rh) as c:
        models = sorted(m["id"] for m in c.get("/v1/models").json()["data"])
        # The placeholder --config has no model: these came from the S3 object Terraform uploaded.
        assert models == ["model-balanced", "model-cheap", "model-reasoning"]
    # It serves as the application role db-bootstrap.sh created, not as the superuser.
    role = gw.info["env"]["DATABASE_URL"].split("//", 1)[1].split("@", 1)[0]
    assert role == "litellm_app"
    log = Path(gw.proxy_log).read_text(errors="replace")
    assert state["outputs"]["master_key_secret_name"] not in log and gw.master_key not in log


def deploy(rh: Rehearsal, github: GitHubEmulator) -> dict:
    """scripts/ci/fetch-approvals (the step with the token) and scripts/ci/reconcile as the deploy job runs
    them on a push (the GitHub API at hand), then the run recorded as a success, as GitHub would; returns
    plan.json."""
    rh.script("scripts/ci/fetch-approvals", "approvals.json", env=github_env(github))
    rh.script("scripts/ci/reconcile", env=github_env(github, GITHUB_EVENT_NAME="push"))
    github.deploy_run(rh.git("rev-parse", "HEAD").strip(), "success")
    return json.loads((rh.repo / "plan.json").read_text())


def converged(rh: Rehearsal) -> str:
    """The commit the reconciler recorded (scripts/ci/last-deployed, as the deploy reads it)."""
    return rh.script("scripts/ci/last-deployed").stdout.strip()


def test_reconcile_creates_the_committed_users(rh: Rehearsal, state: dict, github):
    rh.script("scripts/ci/last-deployed", expect=(1,))  # nothing recorded yet
    granted = rh.git("log", "-1", "--format=%H", "--", "users/alice.yaml").strip()
    pull = github.open_pull("priya", "5" * 40)  # the pull request that merged the grants, approved by an owner
    github.review(pull, "platform-lead")
    github.merge(pull, granted, "ravi")
    plan = deploy(rh, github)
    # No deploy has converged yet: the first one plans in full.
    assert plan["scope"] is None
    actions = plan_actions(rh)
    assert [a for a in actions if a[1].startswith("user:")] == [
        ("create", "user:alice"), ("create", "user:bob"), ("create", "user:carol")], actions
    assert ("create", "service:gatewayctl-plan-viewer") in actions  # the key PR plans and drift read with
    audit = [json.loads(line) for line in (rh.repo / "gatewayctl-audit.jsonl").read_text().splitlines()]
    assert {a["result"] for a in audit[-1]["actions"]} == {"ok"}, audit[-1]
    # Who approved the grants, fetched by the step with the token, kept in the apply's record.
    assert audit[-1]["command"] == "apply" and list(audit[-1]["approvals"]) == [granted], audit[-1]
    (captured,) = audit[-1]["approvals"][granted]["pulls"]
    assert (captured["number"], captured["merged_by"], captured["reviews"][0]["login"]) == (pull, "ravi",
                                                                                            "platform-lead")
    assert chat(rh, user_key(rh, "alice"), "model-cheap") == 200
    # Drafting's guardrail as Terraform created it in the emulator is the one the deployed gateway names
    # (the task definition's GUARDRAIL_DRAFTING_ID/_VERSION, read by the config's os.environ/ references).
    drafting = next(g for g in rh.aws("bedrock").list_guardrails()["guardrails"] if g["name"] == "llm-gateway-drafting")
    sent = [r["body"].get("guardrailConfig") for r in rh.gateway.fake_bedrock_requests()
            if r.get("operation") == "converse"]
    assert sent[-1] == {"guardrailIdentifier": drafting["id"], "guardrailVersion": "1", "trace": "disabled"}, sent
    assert chat(rh, user_key(rh, "alice"), "model-reasoning") == 403
    state["keys"] = {u: user_key(rh, u) for u in ("alice", "bob", "carol")}


# ---------------------------------------------------------------------------- the network
def from_(network_address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=network_address), timeout=60, trust_env=False)


def test_from_the_internet_only_the_model_api_answers(rh: Rehearsal, state: dict):
    lb = "http://{}:{}".format(*rh.network.lb.address)  # the HTTPS listener (TLS is not emulated)
    master = {"Authorization": f"Bearer {rh.gateway.master_key}"}
    with from_(INTERNET) as internet:
        chat = internet.post(f"{lb}/v1/chat/completions", headers={"Authorization": f"Bearer {state['keys']['bob']}"},
                             json={"model": "model-balanced", "messages": [{"role": "user", "content": "hello"}]})
        assert chat.status_code == 200, chat.text
        assert internet.get(f"{lb}/v1/models", headers=master).status_code == 200
        for method, path in ADMIN_ROUTES:  # even with the master key
            r = internet.request(method, f"{lb}{path}", headers=master, json={} if method == "POST" else None)
            assert r.status_code == 403 and "0006-admin-api-not-on-the-internet" in r.text, (method, path, r.text)
        # The tasks have no route from the internet: their security group drops the connection.
        with pytest.raises(httpx.TransportError):
            internet.get("http://{}:{}/key/list".format(*rh.network.tasks.address), headers=master)
    assert INTERNET in rh.network.tasks.dropped
    assert {(peer, path) for peer, _, path, action in rh.network.lb.seen if action == "forward"} >= {
        (INTERNET, "/v1/chat/completions"), (INTERNET, "/v1/models")}
    # reconcile reached the tasks from the runner (its job's network); the model API through the ALB.
    assert rh.network.tasks.admitted == {RUNNER, ALB}, rh.network.tasks.admitted
    with from_(RUNNER) as runner:
        assert runner.get("http://{}:{}/key/list".format(*rh.network.tasks.address), headers=master).status_code == 200


def test_an_admin_job_on_a_github_hosted_runner_fails(rh: Rehearsal):
    """drift.yml's job as if it ran on ubuntu-latest: the private name its step passes does not resolve on
    the internet, and the public name answers 403 on every admin route."""
    rh.script("scripts/ci/drift", network="internet", expect=(1,))
    before = len(rh.network.lb.seen)
    rh.script("scripts/ci/drift", network="internet", expect=(1,),
              env={"LITELLM_BASE_URL": rh.network.url("internet", PUBLIC_URL)})
    refused = [(peer, path) for peer, _, path, action in rh.network.lb.seen[before:] if action == "fixed-response"]
    assert refused and all(peer == INTERNET for peer, _ in refused), rh.network.lb.seen[before:]


# ---------------------------------------------------------------------------- deploy 2
def test_second_deploy_plans_nothing_and_creates_only_the_new_user(rh: Rehearsal, state: dict, github):
    add_user(rh, "dave")
    rh.commit("Add dave (Coding)")
    # The pull request first: validate against main, both plans read-only, one comment holding both.
    rh.script("scripts/ci/validate", "origin/main")
    rh.script("scripts/ci/pr-plan", expect=(2,))
    assert plan_actions(rh) == [("create", "user:dave")]
    rh.script("scripts/ci/terraform-plan", "--read-only", expect=(0,))
    for _ in range(2):  # a second push updates the comment instead of adding one
        rh.script("scripts/ci/pr-comment", "plan.md", f"{PROD}/terraform-plan.md",
                  env=github_env(github, PR_NUMBER="7", HEAD_SHA="abcdef0123", PLAN_EXIT_CODE="2",
                                 TERRAFORM_EXIT_CODE="0"))
    comments = [c for c in github.comments.values() if c["issue"] == 7]
    assert len(comments) == 1 and "user\\:dave" in comments[0]["body"] and "No changes" in comments[0]["body"]
    plan = rh.script("scripts/ci/terraform-plan", expect=(0,))  # -detailed-exitcode: 0 = no change at all
    assert "No changes" in (rh.repo / PROD / "terraform-plan.md").read_text(), plan.stderr[-3000:]
    rh.script("scripts/ci/terraform-apply")
    # The first deploy recorded the commit it converged to, in the reconciler's table.
    first = converged(rh)
    assert first == github.workflow_runs[-1]["head_sha"]
    plan = deploy(rh, github)
    assert plan_actions(rh) == [("create", "user:dave")]
    # Scoped: only dave was read, changed since the commit the last deploy converged to.
    assert plan["scope"]["users"] == ["dave"] and plan["scope"]["commit"] == first, plan["scope"]
    assert converged(rh) == rh.git("rev-parse", "HEAD").strip()
    assert chat(rh, user_key(rh, "dave"), "model-balanced") == 200
    for user, key in state["keys"].items():
        assert user_key(rh, user) == key, f"{user}'s key must not change"
    # "Re-run jobs" on the first deploy now would take dave away again, and the scoped deploys after it
    # (planning from dave's commit) would never notice: refused.
    rh.git("checkout", "-q", first)
    try:
        stale = rh.script("scripts/ci/reconcile", env=github_env(github, GITHUB_EVENT_NAME="push"), expect=(1,))
        assert "re-running an older deploy would roll the gateway back" in stale.stdout + stale.stderr
    finally:
        rh.git("checkout", "-q", "main")
    assert chat(rh, user_key(rh, "dave"), "model-balanced") == 200
    # A pull request's read-only plan sees the same state and takes no lock: it runs while a deploy
    # holds the state lock (the lock object Terraform's S3 backend writes), which a locking plan can't.
    bucket = rh.settings["TF_STATE_BUCKET"]
    lock = {"ID": "11111111-2222-3333-4444-555555555555", "Operation": "OperationTypeApply",
            "Who": "deploy@runner", "Version": "1.11.4", "Created": "2026-11-30T00:00:00Z", "Path": STATE_KEY}
    rh.aws("s3").put_object(Bucket=bucket, Key=f"{STATE_KEY}.tflock", Body=json.dumps(lock).encode())
    try:
        rh.script("scripts/ci/terraform-plan", "--read-only", expect=(0,))
        locked = rh.run(["terraform", f"-chdir={PROD}", "plan", "-input=false", "-lock-timeout=0s"], expect=(1,))
        assert "Error acquiring the state lock" in locked.stderr
    finally:
        rh.aws("s3").delete_object(Bucket=bucket, Key=f"{STATE_KEY}.tflock")


# ---------------------------------------------------------------------------- the nightly rotation
def test_the_nightly_rotation_runs_from_the_runner_and_not_from_the_internet(rh: Rehearsal):
    """rotate.yml's job on the VPC runner reaches the admin API (nothing is due yet: exit 0); the same
    script from a GitHub-hosted runner cannot (ADR 0006)."""
    rotated = rh.script("scripts/ci/rotate", expect=(0,))  # exit 0 needs the live keys: the admin API answered
    assert "Traceback" not in rotated.stdout + rotated.stderr
    refused = rh.script("scripts/ci/rotate", network="internet", expect=(1,))
    assert "gatewayctl rotate failed" in refused.stdout + refused.stderr


# ---------------------------------------------------------------------------- the budget alerts
SENDER = "llm-gateway@example.com"


def member_spend(c: httpx.Client, user_id: str, team_id: str) -> float:
    info = c.get("/team/info", params={"team_id": team_id}).json()
    return next(m["spend"] for m in info["team_memberships"] if m["user_id"] == user_id)


def test_the_budget_alerts_email_a_member_past_a_threshold_once_from_the_runner(rh: Rehearsal):
    """rotate.yml's step after the rotation, on the VPC runner: dave's calls through the load balancer reach
    85% of the Coding tier's $20; scripts/ci/budget-alerts emails him, his owner in copy, over SMTP into a
    real SMTP server; the next night sends nothing (the ledger on his key's secret). A notify setting that is
    wrong stops this job, whose whole work is the email (lib.sh, need_notify_env)."""
    with admin(rh) as c:
        info = next(m["model_info"] for m in c.get("/model/info").json()["data"] if m["model_name"] == "model-balanced")
        # One call of millions of input tokens: the whole call is priced at the long-context rate (above 200k).
        price = info.get("input_cost_per_token_above_200k_tokens") or info["input_cost_per_token"]
        tokens = math.ceil((17.005 - member_spend(c, "dave", "tier-coding")) / price)  # $17.00 (cents round down)
    lb = "http://{}:{}".format(*rh.network.lb.address)
    with from_(INTERNET) as internet:  # dave's client: the model API through the ALB (the fake reports the usage)
        r = internet.post(f"{lb}/v1/chat/completions", headers={"Authorization": f"Bearer {user_key(rh, 'dave')}"},
                          json={"model": "model-balanced",
                                "messages": [{"role": "user", "content": f"x [[usage in={tokens} out=0]]"}]})
        assert r.status_code == 200, r.text
    deadline = time.monotonic() + 90
    with admin(rh) as c:
        while member_spend(c, "dave", "tier-coding") < 17.00:  # LiteLLM writes spend in batches
            assert time.monotonic() < deadline, "dave's spend was never recorded"
            time.sleep(1)
        assert member_spend(c, "dave", "tier-coding") < 17.01, "priced otherwise than model/info says"

    _, step_env = rh.job_step("budget-alerts")
    sink = SmtpSink()  # a real SMTP server, on a free port
    with sink as mail:
        settings = {"GATEWAYCTL_NOTIFY": "smtp", "GATEWAYCTL_NOTIFY_FROM": SENDER,
                    "GATEWAYCTL_SMTP_HOST": "127.0.0.1", "GATEWAYCTL_SMTP_PORT": str(sink.port)}
        assert set(settings) <= set(step_env), step_env  # the repository settings rotate.yml's step passes
        first = rh.script("scripts/ci/budget-alerts", env=settings)
        assert "dave (coding): $17.00 of $20.00 (85%)" in first.stdout and "alert 80% due" in first.stdout, first.stdout
        assert "1 member(s) at or past a threshold, 1 message(s) due" in first.stdout, first.stdout
        assert "1 sent, 0 already sent, 0 failed" in first.stdout, first.stdout
        (recipients, message), = mail.mails
        assert sorted(recipients) == ["approver@example.com", "dave@example.com"]
        assert (message["From"], message["To"], message["Cc"]) == (SENDER, "dave@example.com", "approver@example.com")
        assert message["Subject"].startswith("LLM gateway: 80% of your "), message["Subject"]
        assert "You have used $17.00 of your" in message.get_payload(decode=True).decode()
        tags = rh.aws("secretsmanager").describe_secret(SecretId="llm-gateway/users/dave")["Tags"]
        ledger = {t["Key"]: t["Value"] for t in tags}[LEDGER_TAG_PREFIX + "budget"]
        assert ledger.endswith(":80"), ledger

        again = rh.script("scripts/ci/budget-alerts", env=settings)  # the next night: nothing twice
        assert len(mail.mails) == 1 and "80% already announced" in again.stdout, again.stdout
        assert "0 message(s) due" in again.stdout and "0 sent, 0 already sent, 0 failed" in again.stdout, again.stdout
        # The artifact rotate.yml uploads: the output, and one audit record per sending run.
        assert "80% already announced" in (rh.repo / "budget-alerts.txt").read_text()
        audit = [json.loads(line) for line in (rh.repo / "gatewayctl-audit.jsonl").read_text().splitlines()]
        sends = [a["budget_alerts"] for a in audit if a.get("command") == "notify"]
        assert [(len(s["sent"]), s["skipped"], s["failed"]) for s in sends] == [(1, 0, []), (0, 0, [])], sends
        assert all(a["status"] == "ok" for a in audit if a.get("command") == "notify")

        # SMTP chosen but no relay named: the job stops before it reads anything, and says why.
        broken = rh.script("scripts/ci/budget-alerts", expect=(1,),
                           env={k: v for k, v in settings.items() if k != "GATEWAYCTL_SMTP_HOST"})
        assert "GATEWAYCTL_NOTIFY=smtp needs GATEWAYCTL_SMTP_HOST" in broken.stderr, broken.stderr
        assert len(mail.mails) == 1


# ---------------------------------------------------------------------------- gatewayctl me's month
def test_each_members_month_is_published_from_the_runner_and_not_from_the_internet(rh: Rehearsal):
    """rotate.yml's last step, on the VPC runner: scripts/ci/publish-usage writes every member's month onto
    their key secret (the tags `gatewayctl me` reads) as the production root's reconciler role; from a
    GitHub-hosted runner the admin API is out of reach and nothing is written (ADR 0006, ADR 0007)."""
    from gatewayctl_me import contract

    sm = rh.aws("secretsmanager")

    def month(uid: str) -> dict[str, str]:
        tags = sm.describe_secret(SecretId=contract.DEFAULT_PREFIX + uid)["Tags"]
        return {t["Key"]: t["Value"] for t in tags if t["Key"].startswith(contract.USAGE_TAG_PREFIX)}

    refused = rh.script("scripts/ci/publish-usage", network="internet", expect=(1,))
    assert "gatewayctl publish-usage failed" in refused.stderr and month("dave") == {}, refused.stderr
    published = rh.script("scripts/ci/publish-usage")
    assert "published the month of" in published.stdout, published.stdout
    with admin(rh) as c:
        spent = member_spend(c, "dave", "tier-coding")
    dave = month("dave")
    assert set(dave) == set(contract.USAGE_TAGS) and dave[contract.BUDGET_TAG] == "20.00", dave
    assert abs(float(dave[contract.SPEND_TAG]) - spent) < 1e-6 and dave[contract.TIER_TAG] == "Coding"
    assert "$" not in published.stdout + published.stderr  # nobody's spend in the job's log


# ---------------------------------------------------------------------------- the monthly chargeback
def test_the_monthly_chargeback_stores_locked_evidence_from_the_runner_with_the_spend_reader_key(rh: Rehearsal):
    """chargeback.yml's job on the VPC runner reads /spend/logs/v2 with the spend-reader key (the deploy's
    `apply --spend-reader` wrote its secret; no master key in the job's environment) and puts the month's CSV
    and manifest into the Object Lock bucket Terraform made: each version is locked (GOVERNANCE, the
    retention), and deleting it is refused. From a GitHub-hosted runner the admin API answers 403 and nothing
    is stored (ADR 0006)."""
    uri = rh.settings["CHARGEBACK_S3_URI"]
    assert uri.startswith("s3://llm-gateway-chargeback-"), uri  # the name the boundary lets the role put into
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    month = dt.datetime.now(BUDGET_TZ).strftime("%Y-%m")  # this month's calls: reconcile's and the network's
    s3 = rh.aws("s3")
    lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    retention = lock["Rule"]["DefaultRetention"]
    assert lock["ObjectLockEnabled"] == "Enabled" and (retention["Mode"], retention["Days"]) == ("GOVERNANCE", 2922)
    # The job's environment as chargeback.yml's step gives it: the spend-reader key's secret, no master key's.
    job = {"MONTH": month, "LITELLM_MASTER_KEY_SECRET_ID": ""}
    spend_secret = rh.settings["LITELLM_SPEND_KEY_SECRET_ID"]
    assert spend_secret == "llm-gateway/service/gatewayctl-spend-reader"  # pragma: allowlist secret

    # On ubuntu-latest: the private name its step passes does not resolve, and the public one answers 403.
    refused = rh.script("scripts/ci/monthly-chargeback", network="internet", env=job, expect=(1,))
    assert "gatewayctl report failed" in refused.stderr, refused.stderr
    before = len(rh.network.lb.seen)
    refused = rh.script("scripts/ci/monthly-chargeback", network="internet", expect=(1,),
                        env={**job, "LITELLM_BASE_URL": rh.network.url("internet", PUBLIC_URL)})
    assert "gatewayctl report failed" in refused.stderr, refused.stderr
    blocked = [(peer, path) for peer, _, path, action in rh.network.lb.seen[before:] if action == "fixed-response"]
    assert blocked and all(peer == INTERNET and path.startswith("/spend/logs/v2") for peer, path in blocked), blocked
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0, "nothing is stored from the internet"

    done = rh.script("scripts/ci/monthly-chargeback", env=job)
    assert f"### Chargeback {month} by cost center" in done.stdout, done.stdout
    csv_key, manifest_key = f"{prefix}/{month}/chargeback-segments.csv", f"{prefix}/{month}/manifest.json"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == [csv_key, manifest_key], keys
    body = s3.get_object(Bucket=bucket, Key=csv_key)["Body"].read()
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    assert manifest["month"] == month and manifest["csv"] == f"s3://{bucket}/{csv_key}"
    assert manifest["csv_sha256"] == hashlib.sha256(body).hexdigest()
    assert manifest["git_commit"] == rh.git("rev-parse", "HEAD").strip()
    assert manifest["csv_rows"] == len(body.decode().splitlines()) - 1 >= 1, manifest
    assert body.decode().startswith("period,user_id,tier,cost_center,owner,grant_commit,model")
    spend_key = json.loads(rh.aws("secretsmanager").get_secret_value(SecretId=spend_secret)["SecretString"])["api_key"]
    master = rh.aws("secretsmanager").get_secret_value(SecretId=rh.settings["LITELLM_MASTER_KEY_SECRET_ID"])
    for secret in (spend_key, master["SecretString"]):
        assert secret not in done.stdout + done.stderr + body.decode()

    # Locked: every version carries the retention, and deleting one is refused.
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=2900)
    for key in keys:
        (version,) = s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
        head = s3.head_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])  # moto's GetObjectRetention fails
        assert head["ObjectLockMode"] == "GOVERNANCE" and head["ObjectLockRetainUntilDate"] > soon, head
        with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])
    # A re-run adds a version and keeps the first.
    rh.script("scripts/ci/monthly-chargeback", env=job)
    assert len(s3.list_object_versions(Bucket=bucket, Prefix=csv_key)["Versions"]) == 2


# ---------------------------------------------------------------------------- drift
def test_drift_is_clean_then_catches_a_key_blocked_out_of_band(rh: Rehearsal, state: dict, github):
    def report(code: int) -> None:
        rh.script("scripts/ci/drift", expect=(code,))
        rh.script("scripts/ci/drift-issue", "drift.md", env=github_env(github, DRIFT_EXIT_CODE=str(code),
                                                                      RUN_URL="https://example.invalid/run"))

    report(0)
    assert github.issues == {}
    with admin(rh) as c:
        assert c.post("/key/block", json={"key": state["keys"]["bob"]}).status_code == 200
    report(2)
    report(2)  # the next night: the same issue, updated
    (issue,) = [i for i in github.issues.values() if i["state"] == "open"]
    assert "drift" in issue["labels"] and "bob" in issue["body"]
    with admin(rh) as c:
        assert c.post("/key/unblock", json={"key": state["keys"]["bob"]}).status_code == 200
    report(0)
    assert [i["state"] for i in github.issues.values()] == ["closed"]


# ---------------------------------------------------------------------------- a model's profile
HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"


def task_bedrock_resources(rh: Rehearsal) -> set[str]:
    """Every resource the task role's Bedrock policy names, as IAM holds it in the emulator."""
    doc = rh.aws("iam").get_role_policy(RoleName="llm-gateway-ecs-task",
                                        PolicyName="invoke-configured-bedrock-models")["PolicyDocument"]
    doc = json.loads(urllib.parse.unquote(doc)) if isinstance(doc, str) else doc
    return {r for st in doc["Statement"] for r in ([st["Resource"]] if isinstance(st["Resource"], str)
                                                   else st["Resource"])}


def gateway_revision(rh: Rehearsal) -> dict[str, str]:
    """The environment of the gateway's latest task definition revision."""
    td = rh.aws("ecs").describe_task_definition(taskDefinition="llm-gateway-gateway")["taskDefinition"]
    return {e["name"]: e["value"] for e in td["containerDefinitions"][0]["environment"]}


def served_model_ids(rh: Rehearsal, key: str) -> list[str]:
    """A model-cheap call through the load balancer from the internet, and the model IDs it reached Bedrock with."""
    logged = len(rh.gateway.fake_bedrock_requests())
    with from_(INTERNET) as internet:
        r = internet.post("http://{}:{}/v1/chat/completions".format(*rh.network.lb.address),
                          headers={"Authorization": f"Bearer {key}"},
                          json={"model": "model-cheap", "messages": [{"role": "user", "content": "hello"}]})
    assert r.status_code == 200, r.text
    return [q["model_id"] for q in rh.gateway.fake_bedrock_requests()[logged:] if q.get("operation") == "converse"]


def test_switching_model_cheap_to_the_apac_profile_is_one_line_deployed_and_switched_back(rh: Rehearsal, state: dict,
                                                                                          github):
    """issue #23: the one-line models.yaml PR, validated and rendered as the PR does, deployed as deploy.yml
    does (terraform-apply, preflight, the service rolling to the new revision, reconcile); then reverted."""
    started = time.monotonic()
    account = rh.aws("sts").get_caller_identity()["Account"]
    profile = f"arn:aws:bedrock:ap-south-1:{account}:inference-profile/{{}}.{HAIKU}".format
    apac_regions = yaml.safe_load((rh.repo / "policies/bedrock-profiles.yaml").read_text())["models"][HAIKU][
        "profiles"]["apac"]
    apac_models = {f"arn:aws:bedrock:{r}::foundation-model/{HAIKU}" for r in apac_regions}
    # Haiku through its global profile: the profile, the model in any Region and Region-less (roles.tf).
    through_global = {profile("global"), f"arn:aws:bedrock:*::foundation-model/{HAIKU}",
                      f"arn:aws:bedrock:::foundation-model/{HAIKU}"}
    before, first_revision = task_bedrock_resources(rh), gateway_revision(rh)
    assert through_global <= before, before  # as committed
    alice = state["keys"]["alice"]  # Drafting: model-cheap
    assert set(served_model_ids(rh, alice)) == {f"global.{HAIKU}"}

    # The pull request: one line of policies/models.yaml and the config its author renders from it.
    models = rh.repo / "policies" / "models.yaml"
    text = models.read_text()
    assert text.count(f"bedrock_model_id: global.{HAIKU}") == 1
    models.write_text(text.replace(f"bedrock_model_id: global.{HAIKU}", f"bedrock_model_id: apac.{HAIKU}"))
    rh.run([rh.env()["GATEWAYCTL"], "render-config"])
    changed = rh.git("diff", "--numstat").split("\n")
    assert any(line.split() == ["1", "1", "policies/models.yaml"] for line in changed), changed
    rh.commit("model-cheap: Haiku through its apac profile (issue #23)")
    checked = rh.script("scripts/ci/validate", "origin/main")  # the PR's check: validate + render-config --check
    assert f"fallback apac is the profile apac.{HAIKU}" in checked.stdout, checked.stdout

    # deploy.yml's terraform job.
    rh.script("scripts/ci/terraform-apply")
    assert f"apac.{HAIKU}" in (rh.repo / PROD / "tfplan.txt").read_text()
    after = task_bedrock_resources(rh)
    assert profile("apac") in after and apac_models <= after, after
    # Haiku's global profile is gone with the model anywhere; the apac profile and Haiku in the APAC Regions
    # (the table's) stay, nothing else changes.
    assert after == (before - through_global) | {profile("apac")} | apac_models, after ^ before
    assert not through_global & after
    preflight = rh.script("scripts/ci/preflight")
    assert f"model-cheap (apac.{HAIKU}): can be called" in preflight.stdout, preflight.stdout
    revision = gateway_revision(rh)
    config = rh.repo / "gateway" / "config.yaml"
    assert revision["LITELLM_CONFIG_SHA256"] == hashlib.sha256(config.read_bytes()).hexdigest()
    assert revision["LITELLM_CONFIG_SHA256"] != first_revision["LITELLM_CONFIG_SHA256"]
    uploaded = rh.aws("s3").get_object(Bucket=revision["LITELLM_CONFIG_BUCKET_NAME"],
                                       Key=revision["LITELLM_CONFIG_BUCKET_OBJECT_KEY"])["Body"].read()
    assert uploaded == config.read_bytes()

    # The service rolls: a task of the new revision takes the traffic, then the old one would stop.
    roll_started = time.monotonic()
    first_task = rh.network.tasks.upstream
    task = rh.roll_gateway()
    rh.network.tasks.upstream = task.address
    state["roll_seconds"] = time.monotonic() - roll_started
    try:
        with httpx.Client(base_url=task.base_url, headers={"Authorization": f"Bearer {rh.gateway.master_key}"},
                          timeout=60, trust_env=False) as c:
            running = sorted(d["litellm_params"]["model"] for d in c.get("/model/info").json()["data"]
                             if d["model_name"] == "model-cheap")
        # the config the new task read from S3
        assert [m.removeprefix("bedrock/") for m in running] == [f"apac.{HAIKU}"], running
        plan = deploy(rh, github)  # deploy.yml's reconcile job: the models changed, nobody's key
        # a policies/ change plans in full
        assert plan["scope"]["users"] is None and "policies/models.yaml" in plan["scope"]["full_reason"], plan
        for user, key in state["keys"].items():
            assert user_key(rh, user) == key, f"{user}'s key must not change"
        assert set(served_model_ids(rh, alice)) == {f"apac.{HAIKU}"}

        # Switched back by reverting the pull request: the same path, and the first task's definition again.
        rh.git("revert", "--no-edit", "HEAD")
        rh.script("scripts/ci/validate", "origin/main")
        rh.script("scripts/ci/terraform-apply")
        assert task_bedrock_resources(rh) == before
        assert gateway_revision(rh) == first_revision  # so the first task, still running, is one of it
    finally:
        rh.network.tasks.upstream = first_task
        task.stop()
    deploy(rh, github)
    assert set(served_model_ids(rh, alice)) == {f"global.{HAIKU}"}
    state["profile_step_seconds"] = time.monotonic() - started
    print(f"profile switch: {state['profile_step_seconds']:.0f} s, of which the roll {state['roll_seconds']:.0f} s")


# ---------------------------------------------------------------------------- expiry
def test_a_pull_request_may_not_add_a_grant_that_has_already_expired(rh: Rehearsal):
    yesterday = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    rh.git("checkout", "-q", "-b", "add-erin")
    add_user(rh, "erin", extra=f"expires: {yesterday}\n")
    rh.commit("Add erin, already expired")
    proc = rh.script("scripts/ci/validate", "origin/main", expect=(1,))
    assert "users/erin.yaml" in proc.stdout + proc.stderr and "already expired" in proc.stdout + proc.stderr
    rh.git("checkout", "-q", "main")
    rh.git("branch", "-q", "-D", "add-erin")


def test_deploy_after_a_grant_expired_revokes_only_that_user(rh: Rehearsal, state: dict, github):
    # alice's grant was approved with a date that has now passed (the date moves, not the file).
    yesterday = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    alice = rh.repo / "users" / "alice.yaml"
    alice.write_text("\n".join(f"expires: {yesterday}" if line.startswith("expires:") else line
                               for line in alice.read_text().splitlines()) + "\n")
    rh.commit("alice's grant runs out")
    validate = rh.script("scripts/ci/validate")  # a warning, not a failure
    assert "warning: expired on" in validate.stdout
    rh.script("scripts/ci/terraform-apply")
    plan = deploy(rh, github)
    assert plan_actions(rh) == [("revoke", "user:alice")]
    assert plan["scope"]["users"] == ["alice"], plan["scope"]
    assert chat(rh, state["keys"]["alice"]) == 401
    for user in ("bob", "carol", "dave"):
        assert chat(rh, user_key(rh, user), {"bob": "model-balanced", "carol": "model-reasoning",
                                             "dave": "model-balanced"}[user]) == 200
    rh.script("scripts/ci/drift", expect=(0,))


# ---------------------------------------------------------------------------- the baseline
def test_a_run_listed_as_successful_never_shrinks_the_scope_and_the_offboarding_is_applied(rh: Rehearsal,
                                                                                           state: dict, github):
    before = converged(rh)
    assert before == rh.git("rev-parse", "HEAD").strip()  # the expiry deploy recorded its commit
    (rh.repo / "users" / "carol.yaml").unlink()
    rh.commit("Offboard carol")
    offboarding = rh.git("rev-parse", "HEAD").strip()
    # GitHub lists the offboarding's deploy run as a success, though its reconcile job never ran.
    github.deploy_run(offboarding, "success")
    add_user(rh, "frank")
    rh.commit("Add frank")
    # Planning from the run list's newest success would leave carol out of every later deploy.
    from reconciler.plan import scope

    assert scope.changed_since(rh.repo, offboarding).users == {"frank"}
    assert converged(rh) == before  # the run list moved nothing

    # A rotation holds the gateway lock: the deploy waits for it (here: refuses, with no wait).
    table = rh.settings["GATEWAYCTL_STATE_TABLE"]
    now = int(dt.datetime.now(dt.UTC).timestamp())
    rh.aws("dynamodb").put_item(TableName=table, Item={
        "id": {"S": "lock"}, "token": {"S": "rotation"}, "holder": {"S": "rotate run 9"},
        "acquired_at": {"N": str(now)}, "expires_at": {"N": str(now + 600)}})
    busy = rh.script("scripts/ci/reconcile", env=github_env(github, GITHUB_EVENT_NAME="push", LOCK_WAIT="0"),
                     expect=(1,))
    assert "held by rotate run 9" in busy.stderr
    rh.aws("dynamodb").delete_item(TableName=table, Key={"id": {"S": "lock"}})

    plan = deploy(rh, github)
    assert plan["scope"]["commit"] == before and {"carol", "frank"} <= set(plan["scope"]["users"]), plan["scope"]
    assert [a for a in plan_actions(rh) if a[1].startswith("user:")] == [
        ("create", "user:frank"), ("revoke", "user:carol")], plan_actions(rh)
    assert chat(rh, state["keys"]["carol"], "model-reasoning") == 401
    assert chat(rh, user_key(rh, "frank"), "model-balanced") == 200
    assert converged(rh) == rh.git("rev-parse", "HEAD").strip()
    assert "lock" not in {i["id"]["S"] for i in rh.aws("dynamodb").scan(TableName=table)["Items"]}


# ---------------------------------------------------------------------------- IAM as deployed
PIPELINE_ROLES = ["llm-gateway-terraform-apply", "llm-gateway-terraform-plan", "llm-gateway-reconciler",
                  "llm-gateway-reconciler-plan"]


def test_no_role_as_deployed_can_escalate(rh: Rehearsal):
    """cloudsplaining over the account's IAM after the deploys, AWS-managed policies included
    (iam_analysis.py; test_iam_analysis.py shows it rejects the apply role's old policy)."""
    details = iam_analysis.dump(rh.aws("iam"))
    results = iam_analysis.scan(details, rh.workdir / "cloudsplaining")
    for role in PIPELINE_ROLES:
        assert iam_analysis.risks(results, role) == {}, role
    roles = [r["RoleName"] for r in details["RoleDetailList"] if not r["Path"].startswith("/aws-service-role/")]
    escalations = {role: found for role in roles
                   if (found := iam_analysis.risks(results, role).get("PrivilegeEscalation"))}
    assert escalations == {}
    # Judged by every statement whatever its resources and conditions (-aR), only the apply role's IAM policy
    # can escalate: the grants the boundary caps.
    strict = iam_analysis.scan(details, rh.workdir / "cloudsplaining-aR", flag_all_risky_actions=True)
    escalations = {role: found for role in roles
                   if (found := iam_analysis.risks(strict, role).get("PrivilegeEscalation"))}
    assert {e.split(":")[0] for e in escalations.pop("llm-gateway-terraform-apply")} == {"manage-stack-iam"}
    assert escalations == {}
    # What cloudsplaining does not read: every role the stack made is capped by the boundary, and the
    # apply role may grant only within it.
    stack_roles = [r for r in roles if r.startswith("llm-gateway-") and not r.startswith("llm-gateway-terraform-")]
    assert {"llm-gateway-reconciler", "llm-gateway-ecs-task", "llm-gateway-vpc-flow-logs"} <= set(stack_roles)
    boundary = "arn:aws:iam::123456789012:policy/llm-gateway-boundary"
    assert iam_analysis.boundary_gaps(details, boundary, stack_roles, "llm-gateway-terraform-apply") == []


# ---------------------------------------------------------------------------- teardown
def test_teardown_leaves_nothing_running(rh: Rehearsal, state: dict):
    rh.gateway.stop()
    rh.gateway = None
    rh.script("terraform/scripts/teardown", "--auto-approve")
    left = leftovers(rh, state["outputs"])
    assert left == [], "\n".join(left)
    # Only the account bootstrap remains: the state bucket (with the emptied state), its key, the
    # OIDC provider and the two Terraform roles.
    roles = sorted(r["RoleName"] for r in rh.aws("iam").list_roles()["Roles"]
                   if not r["Path"].startswith("/aws-service-role/"))
    assert roles == ["llm-gateway-terraform-apply", "llm-gateway-terraform-plan"], roles
    assert GITHUB_REPOSITORY in json.dumps(rh.aws("iam").get_role(RoleName="llm-gateway-terraform-apply")["Role"],
                                           default=str)


def leftovers(rh: Rehearsal, outputs: dict) -> list[str]:
    """Everything the production stack or the reconciler made that still exists and is not already
    scheduled for deletion."""
    left = []
    ec2 = rh.aws("ec2")
    left += [f"vpc {v['VpcId']}" for v in ec2.describe_vpcs()["Vpcs"] if not v["IsDefault"]]
    left += [f"eip {a['AllocationId']}" for a in ec2.describe_addresses()["Addresses"]]
    left += [f"nat {n['NatGatewayId']}" for n in ec2.describe_nat_gateways()["NatGateways"]
             if n["State"] not in ("deleted", "deleting")]
    left += [f"alb {lb['LoadBalancerName']}" for lb in rh.aws("elbv2").describe_load_balancers()["LoadBalancers"]]
    left += [f"ecs cluster {c['clusterName']}" for c in rh.aws("ecs").describe_clusters(
        clusters=rh.aws("ecs").list_clusters()["clusterArns"])["clusters"] if c["status"] == "ACTIVE"]
    left += [f"rds {d['DBInstanceIdentifier']}" for d in rh.aws("rds").describe_db_instances()["DBInstances"]]
    left += [f"bucket {b['Name']}" for b in rh.aws("s3").list_buckets()["Buckets"]
             if b["Name"] != rh.settings["TF_STATE_BUCKET"]]
    left += [f"secret {s['Name']}" for s in rh.aws("secretsmanager").list_secrets()["SecretList"]
             if "DeletedDate" not in s]
    kms = rh.aws("kms")
    # AWS-managed keys (alias/aws/<service>) exist in every account and cannot be deleted. moto makes one,
    # as a customer key, when its alias is first looked up: the provider reads alias/aws/dynamodb to tell
    # whether the state table uses it.
    aws_managed = {a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]
                   if a["AliasName"].startswith("alias/aws/")}
    for k in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]
        if meta["KeyId"] in aws_managed:
            continue
        if meta["KeyState"] != "PendingDeletion" and meta["Arn"] != rh.settings["TF_STATE_KMS_KEY_ARN"]:
            left.append(f"kms key {meta['Arn']} ({meta['KeyState']})")
    left += [f"log group {g['logGroupName']}" for g in rh.aws("logs").describe_log_groups()["logGroups"]]
    left += [f"alarm {a['AlarmName']}" for a in rh.aws("cloudwatch").describe_alarms()["MetricAlarms"]]
    left += [f"sns {t['TopicArn']}" for t in rh.aws("sns").list_topics()["Topics"]]
    left += [f"dynamodb table {t}" for t in rh.aws("dynamodb").list_tables()["TableNames"]]
    left += [f"rule {r['Name']}" for r in rh.aws("events").list_rules()["Rules"]]
    left += [f"scalable target {t['ResourceId']}" for t in rh.aws("application-autoscaling")
             .describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]]
    left += [f"budget {b['BudgetName']}" for b in rh.aws("budgets").describe_budgets(
        AccountId="123456789012").get("Budgets", [])]
    return left
