"""Measured, not used: does a gateway-wide default guardrail work in LiteLLM 1.108.7 without an Enterprise
licence? (issue #23: "a gateway-wide default is allowed only if it works without an Enterprise licence".)

LiteLLM's own `guardrails:` section with `default_on: true` calls Bedrock's ApplyGuardrail before every
request. This needs a proxy on a config with that section, so it starts its own (the shared one runs the
repository's config, which has none); the harness runs LiteLLM without a licence key. The fake Bedrock
answers ApplyGuardrail from Drafting's guardrail definition. A measurement of a LiteLLM feature the project
does not use, with a proxy of its own: `make test-contract` runs it (after a LiteLLM bump), not `make test`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler import localgateway
from reconciler.desired import guardrails

pytestmark = [pytest.mark.integration, pytest.mark.litellm_contract, pytest.mark.contract_only]

REPO = Path(__file__).resolve().parent.parent
CARD_PROMPT = "Refund to card 4111 1111 1111 1111 please [[usage in=10 out=5]]"


@pytest.fixture(scope="module")
def default_guarded(tmp_path_factory) -> Iterator:
    if not localgateway.harness_available(REPO):
        pytest.skip("needs the LiteLLM harness")
    assert not os.environ.get("LITELLM_LICENSE"), "this measures LiteLLM without a licence"
    section = {"guardrails": [{"guardrail_name": "gateway-default", "litellm_params": {
        "guardrail": "bedrock", "mode": "pre_call", "default_on": True,
        "guardrailIdentifier": guardrails.local_id("drafting"), "guardrailVersion": "1",
        "aws_region_name": "ap-south-1", "aws_bedrock_runtime_endpoint": localgateway.FAKE_BEDROCK_ENV}}]}
    h = localgateway.start(REPO, tmp_path_factory.mktemp("default-guardrail"), config_overrides=section)
    yield h
    h.stop()


def test_a_default_on_bedrock_guardrail_runs_on_an_unguarded_tier_without_a_licence(default_guarded):
    response = httpx.post(f"{default_guarded.base_url}/v1/chat/completions", timeout=60, trust_env=False,
                          headers={"Authorization": f"Bearer {default_guarded.master_key}"},
                          json={"model": "model-reasoning", "messages": [{"role": "user", "content": CARD_PROMPT}]})

    applied = [r for r in default_guarded.fake_bedrock_requests() if r["operation"] == "apply-guardrail"]
    assert applied, "LiteLLM never called ApplyGuardrail"
    assert response.status_code == 400, response.text
    assert "guardrail" in response.text.lower()
    converse = [r for r in default_guarded.fake_bedrock_requests() if (r["operation"] or "").startswith("converse")]
    assert converse == []  # blocked before the model
