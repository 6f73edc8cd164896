"""Measured before building on it (issue #22, "a bill that reconciles"): can LiteLLM 1.108.7 call a Bedrock
*application* inference profile, the per-tier profile AWS tags for Cost Explorer, with the price still found
and count_tokens (Claude Code calls it) still answering? docs/adr/0009-application-inference-profiles.md.

Two deployment shapes are measured, on the model-cheap deployment as the repository renders it:
  - `model_id`: the rendered `model` (the profile's foundation model, which LiteLLM prices by) plus
    `model_id: <application profile ARN>`, the id LiteLLM puts in the Bedrock URL (base_aws_llm.py
    get_bedrock_model_id);
  - `arn`: `model: bedrock/converse/<ARN>` with `model_info.base_model`, the shape of LiteLLM issue #8911.
The fake Bedrock logs the (URL-decoded) model id each call reaches.

The shared proxy cannot serve this: its config is gateway/config.yaml as rendered, and an application profile's
ARN exists only once Terraform has created it, so no rendering of the repository's policies holds one. This
starts its own proxy on the rendered config plus these deployments; `make test-contract` runs it, `make test`
does not."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import yaml

from reconciler import localgateway
from reconciler.desired import bedrock

pytestmark = [pytest.mark.integration, pytest.mark.litellm_contract, pytest.mark.contract_only]

REPO = Path(__file__).resolve().parent.parent
PROFILE_ARN = "arn:aws:bedrock:ap-south-1:111122223333:application-inference-profile/drafting0cheap"
IN, OUT = 1000, 100
TEXT = f"draft this [[usage in={IN} out={OUT}]]"
SHAPES = ("model_id", "arn", "arn-without-base-model")


def _rendered_cheap() -> dict:
    """The repository's rendered primary deployment of model-cheap."""
    config = yaml.safe_load((REPO / "gateway" / "config.yaml").read_text(encoding="utf-8"))
    return next(m for m in config["model_list"]
                if m["model_name"] == "model-cheap" and m["litellm_params"].get("order", 1) == 1)


def _profiled(shape: str) -> dict:
    deployment = copy.deepcopy(_rendered_cheap())
    params = deployment["litellm_params"]
    params.pop("order", None)
    foundation = params["model"].removeprefix("bedrock/")
    if shape == "model_id":
        params["model_id"] = PROFILE_ARN
    else:
        params["model"] = f"bedrock/converse/{PROFILE_ARN}"
        if shape == "arn":
            deployment["model_info"]["base_model"] = f"bedrock/{foundation}"
    deployment["model_name"] = f"profiled-{shape}"
    return deployment


@pytest.fixture(scope="module")
def profiled(tmp_path_factory) -> Iterator:
    if not localgateway.harness_available(REPO):
        pytest.skip("needs the LiteLLM harness")
    config = yaml.safe_load((REPO / "gateway" / "config.yaml").read_text(encoding="utf-8"))
    models = config["model_list"] + [_profiled(shape) for shape in SHAPES]
    h = localgateway.start(REPO, tmp_path_factory.mktemp("app-profile"), config_overrides={"model_list": models})
    yield h
    h.stop()


def _foundation() -> str:
    return _rendered_cheap()["litellm_params"]["model"].removeprefix("bedrock/")


def _post(h, path: str, body: dict) -> httpx.Response:
    return httpx.post(f"{h.base_url}{path}", json=body, timeout=120, trust_env=False,
                      headers={"Authorization": f"Bearer {h.master_key}"})


def _reached(h, since: float) -> list[tuple[str, str, int]]:
    return [(r["operation"], r["model_id"], r["status"]) for r in h.fake_bedrock_requests()
            if r["ts"] >= since and r["model_id"]]


def _spend_row(h, request_id: str, seconds: float = 90) -> dict | None:
    """The spend log row of one request, once LiteLLM has written it (spend is batched to the database)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = httpx.get(f"{h.base_url}/spend/logs/v2", timeout=30, trust_env=False,
                         headers={"Authorization": f"Bearer {h.master_key}"},
                         params={"start_date": "2000-01-01 00:00:00", "end_date": "2100-01-01 00:00:00",
                                 "page_size": 1000}).json()
        rows = [r for r in body.get("data", []) if r.get("request_id") == request_id]
        if rows:
            return rows[0]
        time.sleep(2)
    return None


def _base_price() -> Decimal:
    price_in, price_out = bedrock.prices(_foundation())
    return IN * price_in + OUT * price_out


def test_model_id_sends_the_profile_arn_to_bedrock_and_prices_the_foundation_model(profiled):
    since = time.time()
    r = _post(profiled, "/v1/chat/completions",
              {"model": "profiled-model_id", "messages": [{"role": "user", "content": TEXT}]})
    assert r.status_code == 200, r.text
    assert _reached(profiled, since) == [("converse", PROFILE_ARN, 200)]
    raw = [x["path"] for x in profiled.fake_bedrock_requests() if x["ts"] >= since and x["model_id"]]
    assert raw == [f"/model/{PROFILE_ARN.replace(':', '%3A').replace('/', '%2F')}/converse"]

    want = _base_price()
    assert want > 0
    assert Decimal(r.headers["x-litellm-response-cost"]) == pytest.approx(want, abs=Decimal("1e-12"))
    row = _spend_row(profiled, r.json()["id"])
    assert row is not None, "no spend row"
    assert Decimal(str(row["spend"])) == pytest.approx(want, abs=Decimal("1e-12"))


def test_model_id_serves_the_anthropic_messages_route_and_its_stream(profiled):
    for stream in (False, True):
        since = time.time()
        r = _post(profiled, "/v1/messages", {"model": "profiled-model_id", "max_tokens": 64, "stream": stream,
                                             "messages": [{"role": "user", "content": TEXT}]})
        assert r.status_code == 200, r.text
        if not stream:
            assert Decimal(r.headers["x-litellm-response-cost"]) == pytest.approx(_base_price(), abs=Decimal("1e-12"))
        # Anthropic's route is InvokeModel (Claude Code's), not Converse: model_id reaches it as well.
        assert _reached(profiled, since) == [("invoke-with-response-stream" if stream else "invoke", PROFILE_ARN, 200)]


def test_count_tokens_answers_for_a_profiled_deployment(profiled):
    since = time.time()
    short = _post(profiled, "/v1/messages/count_tokens",
                  {"model": "profiled-model_id", "messages": [{"role": "user", "content": "x"}]})
    long = _post(profiled, "/v1/messages/count_tokens",
                 {"model": "profiled-model_id", "messages": [{"role": "user", "content": "x" * 400}]})
    assert short.status_code == long.status_code == 200, (short.text, long.text)
    assert long.json()["input_tokens"] - short.json()["input_tokens"] == 100  # the fake counts length / 4
    counted = [(r["operation"], r["model_id"]) for r in profiled.fake_bedrock_requests() if r["ts"] >= since]
    # CountTokens goes to the bare foundation model (LiteLLM strips the profile; Bedrock's runtime refuses
    # Claude there, LiteLLM then asks Mantle): counting never touches the application profile.
    assert ("count-tokens", bedrock.split_profile(_foundation())[1]) in counted, counted
    assert ("mantle-count-tokens", None) in counted, counted
    assert all(model != PROFILE_ARN for _, model in counted)


def test_an_arn_model_is_priced_and_counted_only_through_base_model(profiled):
    """The ARN as `model` also reaches the profile, but the ARN names no model: without `base_model` the call
    is free (spend 0, so no budget holds) and CountTokens asks Bedrock about the profile's id."""
    spend, counted_on = {}, {}
    for shape in ("arn", "arn-without-base-model"):
        since = time.time()
        r = _post(profiled, "/v1/chat/completions",
                  {"model": f"profiled-{shape}", "messages": [{"role": "user", "content": TEXT}]})
        assert r.status_code == 200, r.text
        assert _reached(profiled, since) == [("converse", PROFILE_ARN, 200)]
        row = _spend_row(profiled, r.json()["id"])
        assert row is not None, "no spend row"
        spend[shape] = Decimal(str(row["spend"]))
        since = time.time()
        c = _post(profiled, "/v1/messages/count_tokens",
                  {"model": f"profiled-{shape}", "messages": [{"role": "user", "content": "x"}]})
        assert c.status_code == 200, c.text
        counted_on[shape] = {r["model_id"] for r in profiled.fake_bedrock_requests()
                             if r["ts"] >= since and r["operation"] == "count-tokens"}

    assert spend["arn"] == pytest.approx(_base_price(), abs=Decimal("1e-12"))
    assert spend["arn-without-base-model"] == 0
    assert counted_on["arn"] == {bedrock.split_profile(_foundation())[1]}
    assert counted_on["arn-without-base-model"] == {PROFILE_ARN.rsplit("/", 1)[1]}  # not a model Bedrock knows
