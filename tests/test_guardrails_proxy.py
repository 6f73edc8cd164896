"""Guardrails per tier on the genuine LiteLLM proxy (the shared `gateway`, on the repository's
gateway/config.yaml as rendered): a guarded tier's deployment sends its guardrailConfig to Bedrock, and
the fake Bedrock answers as Bedrock does when that guardrail intervenes. What a client sees is what
LiteLLM makes of Bedrock's answer: HTTP 200, finish_reason "content_filter", and the blocked message or
the masked text as the content. An unguarded tier passes the same prompt unchanged."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest
import yaml

from reconciler.desired import guardrails

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
TIERS = yaml.safe_load((REPO / "policies" / "tiers.yaml").read_text(encoding="utf-8"))["tiers"]
MODELS = yaml.safe_load((REPO / "policies" / "models.yaml").read_text(encoding="utf-8"))["models"]
CARD = "4111 1111 1111 1111"  # a Visa test number (passes the Luhn check)
CARD_PROMPT = f"Draft a refund reply; the customer paid with card {CARD}. [[usage in=10 out=5]]"
# Not a credential: "AKIA" and 16 letters spelling out that it is a test value, the shape the guardrail looks for.
AWS_KEY = "AKIA" + "TESTONLYNOTAKEY0"
ANSWER_WITH_CONTACTS = "Dear customer, write to support@example.com or call +91 98765 43210."


@pytest.fixture
def client(gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=gateway.master_key, max_retries=0, timeout=60)


@pytest.fixture
def fake_answer(gateway):
    """Set the fake Bedrock's answer text for one test (its control endpoint), reset afterwards."""
    if gateway.harness is None:
        pytest.skip("the fake Bedrock's switches need the harness (LITELLM_TEST_BASE_URL points elsewhere)")
    control = gateway.harness.fake_bedrock_url + "/_fake/control"

    def set_text(text: str) -> None:
        httpx.put(control, json={"text": text}, trust_env=False).raise_for_status()

    yield set_text
    httpx.put(control, json={}, trust_env=False).raise_for_status()


def last_converse(gateway, alias: str) -> dict:
    """The fake Bedrock's log record of the latest Converse call to `alias`'s Bedrock model."""
    model_id = MODELS[alias]["bedrock_model_id"]
    calls = [r for r in gateway.harness.fake_bedrock_requests()
             if r["model_id"] == model_id and (r["operation"] or "").startswith("converse")]
    assert calls, f"no Converse call to {model_id} reached the fake Bedrock"
    return calls[-1]


def test_a_card_number_on_the_drafting_tier_is_blocked_before_the_model(gateway, client):
    answer = client.chat.completions.create(model="model-cheap", messages=[{"role": "user", "content": CARD_PROMPT}])

    assert answer.choices[0].finish_reason == "content_filter"
    assert answer.choices[0].message.content == TIERS["drafting"]["guardrail"]["blocked_input_messaging"]
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (0, 0)  # the model was not called
    if gateway.harness is not None:
        call = last_converse(gateway, "model-cheap")
        assert call["body"]["guardrailConfig"] == {"guardrailIdentifier": guardrails.local_id("drafting"),
                                                   "guardrailVersion": "1", "trace": "disabled"}
        assert call["stop_reason"] == "guardrail_intervened"


def test_contact_details_in_the_drafting_answer_come_back_masked(gateway, client, fake_answer):
    fake_answer(ANSWER_WITH_CONTACTS)
    answer = client.chat.completions.create(
        model="model-cheap", messages=[{"role": "user", "content": "Draft a short reply. [[usage in=10 out=5]]"}])

    assert answer.choices[0].message.content == "Dear customer, write to {EMAIL} or call {PHONE}."
    assert answer.choices[0].finish_reason == "content_filter"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (10, 5)  # the model did answer


def test_a_streamed_drafting_answer_is_masked_too(gateway, client, fake_answer):
    fake_answer(ANSWER_WITH_CONTACTS)
    stream = client.chat.completions.create(
        model="model-cheap", stream=True, messages=[{"role": "user", "content": "Reply. [[usage in=10 out=5]]"}])
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Dear customer, write to {EMAIL} or call {PHONE}."
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] \
        == ["content_filter"]
    if gateway.harness is not None:
        assert last_converse(gateway, "model-cheap")["operation"] == "converse-stream"


def test_an_aws_key_on_the_coding_tier_is_blocked_as_raw_http_shows_it(gateway):
    body = {"model": "model-balanced", "messages": [
        {"role": "user", "content": f"Why does boto3 fail with {AWS_KEY}? [[usage in=10 out=5]]"}]}
    response = httpx.post(f"{gateway.base_url}/v1/chat/completions", json=body, timeout=60, trust_env=False,
                          headers={"Authorization": f"Bearer {gateway.master_key}"})

    assert response.status_code == 200
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "content_filter"
    assert choice["message"]["content"] == TIERS["coding"]["guardrail"]["blocked_input_messaging"]


def test_the_unguarded_architect_tier_passes_the_same_prompt_and_answer(gateway, client, fake_answer):
    fake_answer(ANSWER_WITH_CONTACTS)
    answer = client.chat.completions.create(
        model="model-reasoning", messages=[{"role": "user", "content": CARD_PROMPT}])

    assert answer.choices[0].message.content == ANSWER_WITH_CONTACTS
    assert answer.choices[0].finish_reason == "stop"
    if gateway.harness is not None:
        call = last_converse(gateway, "model-reasoning")
        assert "guardrailConfig" not in call["body"]
        assert CARD in str(call["body"]["messages"])  # the prompt reached Bedrock as sent


def test_the_anthropic_messages_route_names_the_drafting_guardrail_to_invoke_model(gateway):
    """/v1/messages (the Anthropic SDK, Claude Code) reaches Bedrock as InvokeModel, which takes the
    guardrail in headers. The fake Bedrock logs them but does not guard InvokeModel's answer."""
    if gateway.harness is None:
        pytest.skip("needs the fake Bedrock's request log")
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.Anthropic(base_url=gateway.base_url, auth_token=gateway.master_key, max_retries=0, timeout=60)
    client.messages.create(model="model-cheap", max_tokens=50,
                           messages=[{"role": "user", "content": "Say hi [[usage in=10 out=5]]"}])

    model_id = MODELS["model-cheap"]["bedrock_model_id"]
    invokes = [r for r in gateway.harness.fake_bedrock_requests()
               if r["model_id"] == model_id and (r["operation"] or "").startswith("invoke")]
    headers = {k.lower(): v for k, v in invokes[-1].get("guardrail_headers", {}).items()}
    assert headers == {"x-amzn-bedrock-guardrailidentifier": guardrails.local_id("drafting"),
                       "x-amzn-bedrock-guardrailversion": "1"}
