"""The official OpenAI and Anthropic Python SDKs against the genuine LiteLLM proxy, with keys that
`gatewayctl apply` issued, for every tier: chat and streaming, `models.list` shows exactly the
tier's model, another tier's model is a PermissionDeniedError, the 11th Drafting call in a minute
is a RateLimitError, and spending past the budget is a typed error naming the budget.
`/v1/messages/count_tokens` (Claude Code calls it) answers through LiteLLM's runtime-then-Mantle
route on the fake Bedrock."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time

import pytest
from helpers import LazyModule, reset_gateway, run_gatewayctl_in_process, write_user

from reconciler.live.keystore import DEFAULT_PREFIX

anthropic = LazyModule("anthropic")  # about 4 s of CPU to import both, only when a test here runs
openai = LazyModule("openai")

pytestmark = pytest.mark.integration

REPO_TIERS = {"drafting": "model-cheap", "coding": "model-balanced", "architect": "model-reasoning"}
OTHER = {"drafting": "model-reasoning", "coding": "model-cheap", "architect": "model-balanced"}
CHEAP = "Say hi [[usage in=10 out=5]]"
# Spend a whole monthly budget in one call at LiteLLM's list prices (USD per input token):
# Haiku 4.5 1e-6 ($2), Sonnet 4.5 3e-6 ($20), Opus 4.5 5e-6 ($500).
OVER_BUDGET = {"drafting": "[[usage in=2000000 out=0]]", "coding": "[[usage in=6700000 out=0]]",
               "architect": "[[usage in=100000000 out=0]]"}
SDKS = ("openai", "anthropic")


@pytest.fixture(scope="module")
def keys(gateway, moto_server, project_kms_key, tmp_path_factory) -> dict[str, str]:
    """One user per (sdk, tier, purpose), applied by gatewayctl; raw keys read back from moto."""
    import boto3

    ws = tmp_path_factory.mktemp("clients")
    for name in ("policies", "schemas", "users", "gateway"):
        shutil.copytree(REPO / name, ws / name)
    for p in (ws / "users").glob("*.yaml"):
        p.unlink()
    # Spend and RPM counters outlive a user's deletion in LiteLLM: fresh ids per run (a reused gateway).
    run = secrets.token_hex(3)
    names = [f"{sdk}-{tier}-{purpose}" for sdk in SDKS for tier in REPO_TIERS for purpose in ("use", "budget")]
    names += [f"{sdk}-drafting-rpm" for sdk in SDKS]
    for name in names:
        write_user(ws, f"{name}-{run}", name.split("-")[1])
    aws = {"AWS_ENDPOINT_URL": moto_server, "AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "ap-south-1",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "GATEWAYCTL_KMS_KEY_ID": project_kms_key}
    import httpx

    with httpx.Client(base_url=gateway.base_url, headers={"Authorization": f"Bearer {gateway.master_key}"},
                      timeout=60, trust_env=False) as admin:
        reset_gateway(admin)
    env = {**os.environ, **aws, "LITELLM_BASE_URL": gateway.base_url, "LITELLM_MASTER_KEY": gateway.master_key}
    env.pop("AWS_PROFILE", None)
    proc = run_gatewayctl_in_process(("apply", "--confirm"), ws, env)
    assert proc.returncode == 0, proc.stderr
    sm = boto3.client("secretsmanager", endpoint_url=moto_server, region_name="ap-south-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    return {name: json.loads(sm.get_secret_value(SecretId=f"{DEFAULT_PREFIX}{name}-{run}")["SecretString"])["api_key"]
            for name in names}


REPO = __import__("pathlib").Path(__file__).resolve().parent.parent


def oai(gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=0, timeout=60)


def ant(gateway, key: str) -> anthropic.Anthropic:
    # auth_token sends "Authorization: Bearer", as Claude Code does with ANTHROPIC_AUTH_TOKEN.
    return anthropic.Anthropic(base_url=gateway.base_url, auth_token=key, max_retries=0, timeout=60)


@pytest.mark.parametrize("tier", REPO_TIERS)
def test_openai_sdk(tier, gateway, keys):
    model, client = REPO_TIERS[tier], oai(gateway, keys[f"openai-{tier}-use"])
    reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": CHEAP}])
    text = reply.choices[0].message.content
    assert text and reply.usage.prompt_tokens == 10 and reply.usage.completion_tokens == 5
    stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": CHEAP}], stream=True)
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert streamed == text
    assert [m.id for m in client.models.list()] == [model]
    with pytest.raises(openai.PermissionDeniedError) as denied:
        client.chat.completions.create(model=OTHER[tier], messages=[{"role": "user", "content": CHEAP}])
    assert denied.value.status_code == 403 and denied.value.body["type"].endswith("model_access_denied")
    assert f"'{OTHER[tier]}' is not available for this API key" in denied.value.body["message"]


@pytest.mark.parametrize("tier", REPO_TIERS)
def test_anthropic_sdk(tier, gateway, keys):
    model, client = REPO_TIERS[tier], ant(gateway, keys[f"anthropic-{tier}-use"])
    reply = client.messages.create(model=model, max_tokens=64, messages=[{"role": "user", "content": CHEAP}])
    text = reply.content[0].text
    assert text and reply.usage.input_tokens == 10 and reply.usage.output_tokens == 5
    with client.messages.stream(model=model, max_tokens=64, messages=[{"role": "user", "content": CHEAP}]) as s:
        streamed = "".join(s.text_stream)
    assert streamed == text
    assert [m.id for m in client.models.list()] == [model]
    counted = client.messages.count_tokens(model=model, messages=[{"role": "user", "content": "How many tokens?"}])
    assert counted.input_tokens > 0
    with pytest.raises(anthropic.PermissionDeniedError) as denied:
        client.messages.create(model=OTHER[tier], max_tokens=64, messages=[{"role": "user", "content": CHEAP}])
    assert denied.value.status_code == 403 and "model_access_denied" in str(denied.value.body)


def test_count_tokens_takes_the_mantle_route(gateway, keys):
    """Bedrock runtime answers 400 for these Claude models; LiteLLM then counts on bedrock-mantle."""
    client = ant(gateway, keys["anthropic-drafting-use"])
    short = client.messages.count_tokens(model="model-cheap", messages=[{"role": "user", "content": "x"}])
    long = client.messages.count_tokens(model="model-cheap", messages=[{"role": "user", "content": "x" * 400}])
    assert long.input_tokens - short.input_tokens == 100  # the fake Mantle counts request length / 4
    if gateway.harness is not None:
        paths = [r["path"] for r in gateway.harness.fake_bedrock_requests()]
        assert any(p.endswith("/count-tokens") for p in paths)
        assert "/anthropic/v1/messages/count_tokens" in paths


def test_eleventh_drafting_call_in_a_minute_is_a_rate_limit_error(gateway, keys):
    o, a = oai(gateway, keys["openai-drafting-rpm"]), ant(gateway, keys["anthropic-drafting-rpm"])
    for _ in range(10):
        o.chat.completions.create(model="model-cheap", messages=[{"role": "user", "content": CHEAP}])
        a.messages.create(model="model-cheap", max_tokens=16, messages=[{"role": "user", "content": CHEAP}])
    with pytest.raises(openai.RateLimitError) as err:
        o.chat.completions.create(model="model-cheap", messages=[{"role": "user", "content": CHEAP}])
    assert err.value.status_code == 429
    with pytest.raises(anthropic.RateLimitError) as err:
        a.messages.create(model="model-cheap", max_tokens=16, messages=[{"role": "user", "content": CHEAP}])
    assert err.value.status_code == 429


def _until_refused(call, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while True:
        try:
            call()
        except (openai.APIStatusError, anthropic.APIStatusError) as exc:
            return exc
        assert time.monotonic() < deadline, "the budget was never enforced"
        time.sleep(1)  # spend reaches LiteLLM's cache a moment after the paid response


@pytest.mark.parametrize("tier", REPO_TIERS)
def test_over_budget_is_a_typed_error(tier, gateway, keys):
    model = REPO_TIERS[tier]
    o, a = oai(gateway, keys[f"openai-{tier}-budget"]), ant(gateway, keys[f"anthropic-{tier}-budget"])
    o.chat.completions.create(model=model, messages=[{"role": "user", "content": OVER_BUDGET[tier]}])
    a.messages.create(model=model, max_tokens=16, messages=[{"role": "user", "content": OVER_BUDGET[tier]}])
    exc = _until_refused(lambda: o.chat.completions.create(model=model, messages=[{"role": "user",
                                                                                   "content": CHEAP}]))
    assert isinstance(exc, openai.UnprocessableEntityError) and exc.status_code == 422
    assert exc.body["type"] == "budget_exceeded" and "Max budget" in exc.body["message"]
    exc = _until_refused(lambda: a.messages.create(model=model, max_tokens=16,
                                                   messages=[{"role": "user", "content": CHEAP}]))
    assert isinstance(exc, anthropic.UnprocessableEntityError) and exc.status_code == 422
    assert "budget_exceeded" in str(exc.body)


# Made up here, never issued by any gateway: what a user with a wrong or revoked key sends.
UNKNOWN_KEY = "sk-" + "made-up-test-value"


def test_an_unknown_key_is_an_authentication_error(gateway):
    with pytest.raises(openai.AuthenticationError) as err:
        oai(gateway, UNKNOWN_KEY).chat.completions.create(
            model="model-cheap", messages=[{"role": "user", "content": CHEAP}])
    assert err.value.status_code == 401
    with pytest.raises(anthropic.AuthenticationError):
        ant(gateway, UNKNOWN_KEY).messages.create(
            model="model-cheap", max_tokens=16, messages=[{"role": "user", "content": CHEAP}])
