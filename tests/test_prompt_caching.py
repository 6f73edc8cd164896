"""Prompt caching through the gateway, measured and priced (issue #21).

Claude Code marks its system prompt, its tools and the newest turn of the conversation with
`cache_control`. Sent through the shared genuine proxy to the fake Bedrock (which bills caching as
Bedrock does: tools/fake-bedrock), the marks must reach Bedrock and LiteLLM's spend must bill a
warm request's context at the cache-read price of the pinned LiteLLM price table. The same
measurement, per tier, is what docs/using-the-gateway.md's "Prompt caching" table says a month's
budget buys; the test recomputes that table from the measured spend and compares it to the guide.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import secrets
import time
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import anthropic
import pytest
import yaml
from helpers import clean_slate, secret_key, write_user

from reconciler.desired import bedrock

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
GUIDE = REPO / "docs" / "using-the-gateway.md"
TIERS = yaml.safe_load((REPO / "policies" / "tiers.yaml").read_text())["tiers"]
# Each alias's primary deployment (order 1, or the only one): a fallback serves only when it is throttled.
MODEL_IDS = {m["model_name"]: m["litellm_params"]["model"].removeprefix("bedrock/")
             for m in yaml.safe_load((REPO / "gateway" / "config.yaml").read_text())["model_list"]
             if m["litellm_params"].get("order", 1) == 1}
CACHED = {"type": "ephemeral"}
# A typical Claude Code request: ~18k tokens of context (system prompt, tools, the conversation so far),
# a new turn, and a few hundred tokens of answer. The fake counts one token per 4 characters of JSON.
ANSWER_TOKENS = 300
TOLERANCE = Decimal("1e-6")  # LiteLLM computes spend in floats


def claude_code_request(nonce: str) -> dict:
    """The first request of a Claude Code session, shaped as Claude Code sends it to /v1/messages."""
    rules = "".join(f"Rule {i}: keep changes small, explain why, run the tests before you finish. "
                    for i in range(700))
    tools = [{"name": f"tool_{i}", "description": "Read, edit or run something in the project. " * 40,
              "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}} for i in range(8)]
    tools[-1]["cache_control"] = CACHED
    return {"system": [{"type": "text", "text": f"You are Claude Code ({nonce})."},
                       {"type": "text", "text": rules, "cache_control": CACHED}],
            "tools": tools,
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": f"Fix the failing test. [[usage in=0 out={ANSWER_TOKENS}]]",
                 "cache_control": CACHED}]}]}


def next_turn(request: dict) -> dict:
    """The session's next request: the answer and a new turn appended, the mark moved to the newest turn."""
    following = copy.deepcopy(request)
    for message in following["messages"]:
        for block in message["content"]:
            block.pop("cache_control", None)
    new_turn = "Now run the whole test suite and fix what fails. " + "Output of the last run: ok. " * 60
    following["messages"] += [
        {"role": "assistant", "content": [{"type": "text", "text": "hello from fake bedrock"}]},
        {"role": "user", "content": [{"type": "text", "text": f"{new_turn}[[usage in=0 out={ANSWER_TOKENS}]]",
                                      "cache_control": CACHED}]}]
    return following


def without_cache_marks(request: dict, input_tokens: int) -> dict:
    """The same request from a client that sends no cache_control: all of it is billed as input."""
    plain = copy.deepcopy(request)
    for block in plain["system"] + plain["tools"] + [b for m in plain["messages"] for b in m["content"]]:
        block.pop("cache_control", None)
    plain["messages"][-1]["content"][-1]["text"] += f"[[usage in={input_tokens} out={ANSWER_TOKENS}]]"
    return plain


def spend_rows(admin, user_id: str, count: int, seconds: float = 120) -> list[dict]:
    """The user's spend-log rows, oldest first, once LiteLLM has written `count` of them."""
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    deadline = time.monotonic() + seconds
    while True:
        body = admin.get("/spend/logs/v2", params={"start_date": start, "end_date": "2100-01-01 00:00:00",
                                                    "page_size": 1000}).json()
        rows = sorted((r for r in body["data"] if r.get("user") == user_id), key=lambda r: r["startTime"])
        if len(rows) >= count:
            return rows
        assert time.monotonic() < deadline, f"{len(rows)} of {count} spend rows for {user_id}"
        time.sleep(2)


def price(model_id: str, field: str) -> Decimal:
    return Decimal(str(bedrock.price_entry(model_id)[field]))


def requests_per_budget(budget: Decimal, cost: Decimal) -> int:
    return int((budget / cost).to_integral_value(rounding=ROUND_FLOOR))


def guide_table() -> dict[str, tuple[int, int]]:
    """{tier display name: (requests without caching, with caching)} from the guide's caching table."""
    section = GUIDE.read_text(encoding="utf-8").split("## 12. Prompt caching", 1)[1].split("\n## ", 1)[0]
    return {m[1]: (int(m[2].replace(",", "")), int(m[3].replace(",", "")))
            for m in re.finditer(r"^\| (\w+) \| `[\w-]+` \| \$[\d.,]+ \| ([\d,]+) \| ([\d,]+) \|", section, re.M)}


@pytest.fixture
def users(admin, aws_env, gatewayctl, workspace) -> dict[str, str]:
    """One fresh user per tier, applied by gatewayctl (LiteLLM's spend outlives a deleted user)."""
    clean_slate(admin, workspace)
    run = secrets.token_hex(3)
    ids = {tier: f"cache-{tier}-{run}" for tier in TIERS}
    for tier, uid in ids.items():
        write_user(workspace, uid, tier)
    gatewayctl("apply", "--confirm", check=True)
    return ids


def test_claude_code_s_cache_marks_reach_bedrock_and_a_warm_request_is_billed_at_the_cache_read_price(
        users, admin, gateway):
    measured = {}
    for tier, uid in users.items():
        model = TIERS[tier]["models"][0]
        model_id = MODEL_IDS[model]
        client = anthropic.Anthropic(base_url=gateway.base_url, auth_token=secret_key(uid), max_retries=0)
        first = claude_code_request(secrets.token_hex(8))  # a prefix Bedrock has never seen
        second = next_turn(first)
        logged = len(gateway.harness.fake_bedrock_requests()) if gateway.harness else None

        replies = [client.messages.create(model=model, max_tokens=1024, **first)]
        with client.messages.stream(model=model, max_tokens=1024, **second) as stream:  # as Claude Code does
            replies.append(stream.get_final_message())
        write, read = replies[0].usage.cache_creation_input_tokens, replies[1].usage.cache_read_input_tokens
        second_write = replies[1].usage.cache_creation_input_tokens
        assert 17000 < write < 20000 and read == write and 0 < second_write < 1000, [r.usage for r in replies]
        replies.append(client.messages.create(model=model, max_tokens=1024,
                                              **without_cache_marks(second, read + second_write)))
        assert replies[2].usage.cache_read_input_tokens in (None, 0)

        if gateway.harness is not None:  # what reached Bedrock: InvokeModel with the marks, and its cache usage
            served = [r for r in gateway.harness.fake_bedrock_requests()[logged:] if r["model_id"] == model_id]
            assert [r["operation"] for r in served] == ["invoke", "invoke-with-response-stream", "invoke"]
            assert served[0]["body"]["system"][-1]["cache_control"] == CACHED
            assert served[1]["body"]["messages"][-1]["content"][-1]["cache_control"] == CACHED
            assert [r.get("cache") for r in served] == [[0, write], [read, second_write], None]

        cold, warm, uncached = (Decimal(str(r["spend"])) for r in spend_rows(admin, uid, 3))
        rate_in, rate_out = price(model_id, "input_cost_per_token"), price(model_id, "output_cost_per_token")
        rate_read, rate_write = (price(model_id, "cache_read_input_token_cost"),
                                 price(model_id, "cache_creation_input_token_cost"))
        assert rate_read * 10 == rate_in, "Bedrock bills a cache read at a tenth of the input price"
        answer = ANSWER_TOKENS * rate_out
        assert cold == pytest.approx(write * rate_write + answer, rel=TOLERANCE)
        assert warm == pytest.approx(read * rate_read + second_write * rate_write + answer, rel=TOLERANCE)
        assert uncached == pytest.approx((read + second_write) * rate_in + answer, rel=TOLERANCE)
        budget = Decimal(str(TIERS[tier]["monthly_budget_usd"]))
        measured[TIERS[tier]["display_name"]] = (requests_per_budget(budget, uncached),
                                                 requests_per_budget(budget, warm))

    assert guide_table() == measured, "docs/using-the-gateway.md section 12 must say what was measured"


def test_an_openai_client_s_cache_control_becomes_a_converse_cache_point(users, admin, gateway):
    """Cursor, Continue and LangChain's ChatOpenAI speak the OpenAI API, which LiteLLM sends to Converse."""
    import openai

    uid, model = users["drafting"], TIERS["drafting"]["models"][0]
    model_id = MODEL_IDS[model]
    client = openai.OpenAI(base_url=gateway.base_url + "/v1", api_key=secret_key(uid), max_retries=0)
    context = f"Project notes ({secrets.token_hex(8)}). " + "Keep every change small and tested. " * 500
    messages = [{"role": "system", "content": [{"type": "text", "text": context, "cache_control": CACHED}]},
                {"role": "user", "content": "Say hello [[usage in=50 out=20]]"}]
    logged = len(gateway.harness.fake_bedrock_requests()) if gateway.harness else None
    first, second = (client.chat.completions.create(model=model, messages=messages) for _ in range(2))
    written = first.usage.prompt_tokens_details.cache_creation_tokens
    assert 4000 < written < 5000 and second.usage.prompt_tokens_details.cached_tokens == written
    if gateway.harness is not None:
        served = [r for r in gateway.harness.fake_bedrock_requests()[logged:] if r["model_id"] == model_id]
        assert [r["operation"] for r in served] == ["converse", "converse"]
        assert [b for b in served[0]["body"]["system"] if "cachePoint" in b], served[0]["body"]["system"]
        assert [r["cache"] for r in served] == [[0, written], [written, 0]]
    _, warm = (Decimal(str(r["spend"])) for r in spend_rows(admin, uid, 2))
    assert warm == pytest.approx(written * price(model_id, "cache_read_input_token_cost")
                                 + 50 * price(model_id, "input_cost_per_token")
                                 + 20 * price(model_id, "output_cost_per_token"), rel=TOLERANCE)
