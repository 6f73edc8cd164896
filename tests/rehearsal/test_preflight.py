"""Bedrock access before the first call: scripts/ci/preflight (`gatewayctl preflight`) against the AWS
emulator's Bedrock control plane, which starts as a fresh account does (tests/rehearsal/aws_emulator.py):
Anthropic models not authorised until the use case is submitted, no Marketplace agreement yet."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from stack import REGION, Rehearsal

REPO = Path(__file__).resolve().parents[2]
HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory):
    r = Rehearsal(tmp_path_factory.mktemp("preflight"))
    r.start_emulator()
    yield r
    r.close()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """What scripts/ci/preflight reads: the policies and the script itself."""
    for name in ("policies", "scripts"):
        shutil.copytree(REPO / name, tmp_path / name)
    return tmp_path


def preflight(emulator: Rehearsal, repo: Path, account: str, **extra: str) -> subprocess.CompletedProcess:
    """The script as the deploy's Terraform job runs it; `account` keeps each test's emulated account apart."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GITHUB_", "GATEWAYCTL"))}
    env.update(emulator.aws_env(), AWS_ACCESS_KEY_ID=account, GITHUB_ACTIONS="true",
               GITHUB_STEP_SUMMARY=str(repo / "summary.md"), GATEWAYCTL=str(Path(sys.executable).parent / "gatewayctl"),
               **extra)
    return subprocess.run([str(repo / "scripts" / "ci" / "preflight")], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def bedrock(emulator: Rehearsal, account: str):
    import boto3

    return boto3.client("bedrock", region_name=REGION, endpoint_url=emulator.endpoint, aws_access_key_id=account,
                        aws_secret_access_key="testing")  # pragma: allowlist secret


def test_not_authorised_until_the_anthropic_use_case_is_submitted(emulator, repo):
    account = "111111111111"  # moto reads the account from a 12-digit access key id
    blocked = preflight(emulator, repo, account)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    # One error annotation per model, naming it and saying what to do.
    errors = [line for line in blocked.stdout.splitlines() if line.startswith("::error")]
    assert [e.split("::")[1] for e in errors] == [f"error title=Bedrock preflight: {a}"
                                                  for a in ("model-balanced", "model-cheap", "model-cheap fallback",
                                                            "model-reasoning")]  # the fallback is called too
    cheap = next(e for e in errors if "model-cheap" in e)
    assert f"has not submitted Anthropic's first-use form for {HAIKU}" in cheap
    assert "put-use-case-for-model-access" in cheap and 'docs/runbook.md, "Bedrock access"' in cheap
    assert "cannot be called from this account yet" in blocked.stderr
    assert "model-cheap (global.anthropic.claude-haiku-4-5-20251001-v1:0): CANNOT be called" in \
        (repo / "summary.md").read_text()

    # The runbook's step: submit the use case once for the account, then the same preflight passes.
    bedrock(emulator, account).put_use_case_for_model_access(formData=json.dumps(
        {"companyName": "Example Org", "intendedUsers": "0", "useCases": "internal LLM gateway"}).encode())
    ready = preflight(emulator, repo, account)
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert ready.stdout.count("can be called") == 4 and "::error" not in ready.stdout  # 3 models, 1 fallback
    # No agreement yet is not a blocker: the first call subscribes (the task role may).
    assert ready.stdout.count("the gateway's first call subscribes the account") == 4


def test_an_accepted_offer_is_reported_as_the_agreement_in_place(emulator, repo):
    account = "222222222222"
    client = bedrock(emulator, account)
    client.put_use_case_for_model_access(formData=b'{"companyName": "Example Org"}')
    offer = client.list_foundation_model_agreement_offers(modelId=HAIKU)["offers"][0]
    client.create_foundation_model_agreement(modelId=HAIKU, offerToken=offer["offerToken"])
    ready = preflight(emulator, repo, account)
    assert ready.returncode == 0, ready.stdout + ready.stderr
    cheap = ready.stdout.split("model-cheap (", 1)[1].split("\nmodel-", 1)[0]
    assert "Marketplace agreement in place" in cheap


def test_a_profile_the_region_does_not_serve_is_named_with_its_model(emulator, repo):
    account = "333333333333"
    bedrock(emulator, account).put_use_case_for_model_access(formData=b'{"companyName": "Example Org"}')
    models = repo / "policies" / "models.yaml"
    models.write_text(models.read_text().replace("global.anthropic.claude-sonnet", "us.anthropic.claude-sonnet"))
    out = preflight(emulator, repo, account)
    assert out.returncode == 1
    (error,) = [line for line in out.stdout.splitlines() if line.startswith("::error")]
    assert "model-balanced" in error and "us.anthropic.claude-sonnet-4-5-20250929-v1:0 does not exist in " \
        f"{REGION}" in error and "list-inference-profiles" in error
    # Credentials for another Region than policies/models.yaml's: every model says so.
    other = preflight(emulator, repo, account, AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1")
    errors = [line for line in other.stdout.splitlines() if line.startswith("::error")]
    assert other.returncode == 1 and len(errors) == 4
    assert all("the credentials are for us-east-1, policies/models.yaml says ap-south-1" in e for e in errors)
