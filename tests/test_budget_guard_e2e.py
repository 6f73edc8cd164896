"""Budgets on the genuine LiteLLM proxy: the overshoot bound under concurrency, budget exceptions
that expire by themselves, spend kept across a tier move, and per-member overrides as drift.

The concurrency and expiry tests run on the clock-shifted proxy (tests/conftest.py `clock_gateway`,
shared with the budget alert suite): its fake Bedrock is switched to answer after 2 s where calls must
really be in flight together, and tests/clock_shift moves the proxy's clock."""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import json
import math
import os
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import yaml
from helpers import chat, reset_gateway, run_gatewayctl_in_process, secret_key, wait_for_status, write_user

from reconciler.desired import bedrock
from reconciler.desired.policy import BUDGET_TZ, LITELLM_RESERVED_OUTPUT_TOKENS

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
CHEAP = "hi [[usage in=10 out=1]]"


@pytest.fixture
def slow_gateway(clock_proxy):
    """The clock-shifted proxy whose fake Bedrock answers after 2 s, so concurrent calls overlap."""
    clock_proxy.fake_bedrock(latency_ms=2000)
    return clock_proxy


@pytest.fixture
def slowctl(workspace, clock_proxy, aws_env):
    h = clock_proxy.harness
    with httpx.Client(base_url=h.base_url, headers={"Authorization": f"Bearer {h.master_key}"}, timeout=60,
                      trust_env=False) as admin:
        reset_gateway(admin)
    for p in (workspace / "users").glob("*.yaml"):
        p.unlink()

    def run(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, **aws_env, "LITELLM_BASE_URL": h.base_url, "LITELLM_MASTER_KEY": h.master_key,
               "GITHUB_SHA": "0" * 40}
        proc = run_gatewayctl_in_process(args, workspace, env)
        assert proc.returncode in (0, 2), f"gatewayctl {args}: {proc.stdout}\n{proc.stderr}"
        return proc

    return run


def member_row(base_url, master_key, team_id, user_id) -> dict:
    info = httpx.get(f"{base_url}/team/info", params={"team_id": team_id, "key_limit": 1},
                     headers={"Authorization": f"Bearer {master_key}"}, timeout=60, trust_env=False).json()
    return next(m for m in info["team_memberships"] if m["user_id"] == user_id)


def wait_for_spend(base_url, master_key, team_id, user_id, at_least: float, seconds=60) -> float:
    deadline = time.monotonic() + seconds
    while True:
        spend = member_row(base_url, master_key, team_id, user_id)["spend"]
        if spend >= at_least - 1e-9 or time.monotonic() > deadline:
            return spend
        time.sleep(1)


def test_concurrent_calls_overshoot_the_budget_by_at_most_one_request(slowctl, workspace, slow_gateway):
    h = slow_gateway.harness
    write_user(workspace, "conc")  # Drafting: $2.00, 10 RPM, max_request_usd 0.52
    slowctl("apply", "--confirm")
    key = secret_key("conc")
    words = "word " * 40000
    counted = httpx.post(f"{h.base_url}/utils/token_counter", headers={"Authorization": f"Bearer {h.master_key}"},
                         json={"model": "model-cheap", "messages": [{"role": "user", "content": words}]},
                         timeout=60, trust_env=False).json()["total_tokens"]
    # Each call is billed exactly what LiteLLM counts in (the fake reports that) plus the 64k output it
    # may produce: about $0.36 on Haiku 4.5. Ten at once would cost $3.60 without a reservation.
    body = {"model": "model-cheap", "max_tokens": 64000,
            "messages": [{"role": "user", "content": words + f" [[usage in={counted} out=64000]]"}]}
    cost = Decimal(counted) * Decimal("0.000001") + Decimal("0.32")

    def call(_):
        return httpx.post(f"{h.base_url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                          json=body, timeout=120, trust_env=False)

    with cf.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(call, range(10)))
    codes = [r.status_code for r in results]
    served = [r["ts"] for r in h.fake_bedrock_requests() if r.get("usage") == [counted, 64000]]
    assert len(served) == codes.count(200) and max(served) - min(served) < 2.0  # all in flight together
    refused = [r for r in results if r.status_code == 422]
    assert codes.count(200) + len(refused) == 10 and refused, codes
    assert all(r.json()["error"]["type"] == "budget_exceeded" for r in refused)
    admitted = codes.count(200)
    spend = Decimal(str(wait_for_spend(h.base_url, h.master_key, "tier-drafting", "conc", float(admitted * cost))))
    print(f"10 concurrent calls of ${cost:.4f}: {admitted} admitted, spend ${spend} on a $2.00 budget")
    assert spend == pytest.approx(admitted * cost, abs=Decimal("0.000001"))
    assert spend <= Decimal("2.00") + Decimal("0.52"), f"{admitted} admitted, spend {spend}"  # the stated bound
    assert spend > Decimal("2.00") - cost  # and the budget was really used up, not refused early


def output_cap(record: dict) -> int:
    """The most output tokens Bedrock may produce for one logged request: Converse's maxTokens (InvokeModel's
    max_tokens), or the model's maximum output when it names none (Bedrock's default)."""
    body = record["body"]
    cap = (body.get("inferenceConfig") or {}).get("maxTokens") if "converse" in record["operation"] else \
        body.get("max_tokens")
    return cap if cap is not None else bedrock.max_output_tokens(record["model_id"])


MODEL_CALLS = ("converse", "converse-stream", "invoke", "invoke-with-response-stream")  # not count-tokens

# What a client sends, by API, and the output cap Bedrock must receive: None for the deployment's
# default_max_tokens (what LiteLLM reserves), else the client's own cap, unchanged.
PROBES = {
    "chat, no max_tokens": ("/v1/chat/completions", {}, None),
    "chat, streamed, no max_tokens": ("/v1/chat/completions", {"stream": True}, None),
    "chat, max_tokens 64000": ("/v1/chat/completions", {"max_tokens": 64000}, 64000),
    "chat, max_completion_tokens 1000": ("/v1/chat/completions", {"max_completion_tokens": 1000}, 1000),
    "completions, no max_tokens": ("/v1/completions", {}, None),
    "messages, max_tokens 1000": ("/v1/messages", {"max_tokens": 1000}, 1000),
    "messages, no max_tokens": ("/v1/messages", {}, None),
    "responses, no max_output_tokens": ("/v1/responses", {}, None),
    "responses, max_output_tokens 1000": ("/v1/responses", {"max_output_tokens": 1000}, 1000),
}


def test_calls_without_max_tokens_overshoot_the_budget_by_at_most_one_request(slowctl, workspace, slow_gateway):
    """A client that omits max_tokens: LiteLLM reserves 16,384 output tokens, so Bedrock must be given
    that cap too (before the fix it got none, and Bedrock's default is 64,000 for Haiku 4.5). The fake
    bills each call the most Bedrock may produce for what it received."""
    h = slow_gateway.harness
    write_user(workspace, "nomax")  # Drafting: $2.00, 10 RPM
    write_user(workspace, "probe")  # another member, so the probes don't use nomax's 10 RPM
    slowctl("apply", "--confirm")
    key, probe_key = secret_key("nomax"), secret_key("probe")

    def call(api_key: str, text: str, path: str = "/v1/chat/completions", **params) -> httpx.Response:
        if path.startswith("/bedrock/"):  # Bedrock's own Converse body: the model is in the path
            body = {"messages": [{"role": "user", "content": [{"text": text}]}]}
        else:
            content = {"/v1/responses": {"input": text}, "/v1/completions": {"prompt": text}}.get(
                path, {"messages": [{"role": "user", "content": text}]})
            body = {"model": "model-cheap", **content}
        return httpx.post(f"{h.base_url}{path}", headers={"Authorization": f"Bearer {api_key}"},
                          json={**body, **params}, timeout=120, trust_env=False)

    def probe(out_and_name):
        out, name = out_and_name
        path, params, _ = PROBES[name]
        marker = f"[[usage in=7 out={out}]]"
        answer = call(probe_key, f"probe {marker}", path, **params)
        assert answer.status_code == 200, f"{name}: {answer.text}"
        return marker

    with cf.ThreadPoolExecutor(len(PROBES)) as pool:
        markers = dict(zip(PROBES, pool.map(probe, enumerate(PROBES, start=1)), strict=True))
    served = [r for r in h.fake_bedrock_requests() if r["operation"] in MODEL_CALLS]
    # LiteLLM forwards a /bedrock pass-through body as sent (no maxTokens: Bedrock's 64,000, more than it
    # reserved), so a user's key may not call it at all (USER_KEY_ROUTES): refused, Bedrock never asked.
    passthrough = call(probe_key, "probe [[usage in=7 out=99]]", "/bedrock/model/model-cheap/converse")
    assert passthrough.status_code == 403 and "Only allowed to call routes" in passthrough.text, passthrough.text
    assert not [r for r in h.fake_bedrock_requests() if "out=99]]" in json.dumps(r["body"])]
    # the output cap Bedrock received, by what the client sent
    caps = {name: output_cap(next(r for r in served if marker in json.dumps(r["body"])))
            for name, marker in markers.items()}
    cap = caps["chat, no max_tokens"]

    # $1.40 already spent this month (a small prompt: the ten calls are nomax's only other requests this minute)
    assert call(key, "x [[usage in=1400000 out=0]]").status_code == 200
    spent = Decimal(str(wait_for_spend(h.base_url, h.master_key, "tier-drafting", "nomax", 1.40)))
    words = "word " * 50000  # ~50k tokens: real size, small enough that all ten are in flight together
    counted = httpx.post(f"{h.base_url}/utils/token_counter", headers={"Authorization": f"Bearer {h.master_key}"},
                         json={"model": "model-cheap", "messages": [{"role": "user", "content": words}]},
                         timeout=60, trust_env=False).json()["total_tokens"]
    prices = bedrock._entries()["global.anthropic.claude-haiku-4-5-20251001-v1:0"]
    cost = (Decimal(counted) * Decimal(str(prices["input_cost_per_token"]))
            + Decimal(cap) * Decimal(str(prices["output_cost_per_token"])))
    text = words + f" [[usage in={counted} out={cap}]]"
    with cf.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: call(key, text), range(10)))
    codes = [r.status_code for r in results]
    arrived = [r["ts"] for r in h.fake_bedrock_requests() if r.get("usage") == [counted, cap]]
    assert len(arrived) == codes.count(200), codes
    assert max(arrived) - min(arrived) < 2.0, sorted(arrived)  # all in flight together
    assert codes.count(200) + codes.count(422) == 10, codes
    admitted = codes.count(200)
    spend = Decimal(str(wait_for_spend(h.base_url, h.master_key, "tier-drafting", "nomax",
                                       float(spent + admitted * cost))))
    print(f"10 concurrent calls without max_tokens, Bedrock cap {cap} out, ${cost:.4f} each, ${spent} spent "
          f"before: {admitted} admitted, spend ${spend} on a $2.00 budget")
    assert spend == pytest.approx(spent + admitted * cost, abs=Decimal("0.000001"))
    assert spend <= Decimal("2.00") + cost, f"{admitted} admitted, spend {spend}: more than one request over"
    assert spend > Decimal("2.00") - cost  # and the budget was really used up, not refused early
    # Each admitted call reserved exactly what it cost (LiteLLM shrinks the last reservation to what is
    # left), so what LiteLLM reserved for the output is what Bedrock was allowed to produce: the policy's
    # cap, 16,384 tokens (tests/test_validate.py ties that number to the installed LiteLLM's).
    assert admitted == math.ceil((Decimal("2.00") - spent) / cost), f"{admitted} admitted at ${cost:.4f}"
    policy = yaml.safe_load((REPO / "policies" / "models.yaml").read_text(encoding="utf-8"))["models"]
    assert cap == policy["model-cheap"]["default_max_tokens"] == LITELLM_RESERVED_OUTPUT_TOKENS
    assert caps == {name: cap if sent is None else sent for name, (_, _, sent) in PROBES.items()}


def test_exception_lets_a_drafting_user_spend_more_until_it_ends_by_itself(slowctl, workspace, clock_proxy):
    h = clock_proxy.harness
    today = dt.datetime.now(BUDGET_TZ).date()
    until = today + dt.timedelta(days=7)
    write_user(workspace, "exa", extra=f"budget_exception:\n  extra_usd: 1.00\n  until: {until}\n  ticket: FIN-1\n")
    plan = slowctl("plan")
    assert "member budget: tier default -> $2.00/month, 10 RPM + $1.00 until" in plan.stdout
    slowctl("apply", "--confirm")
    key = secret_key("exa")
    for _ in range(2):  # $2.50 in all: past the $2.00 tier budget, inside $3.00
        assert chat(h.base_url, key, "model-cheap", "x [[usage in=1250000 out=0]]").status_code == 200
    wait_for_spend(h.base_url, h.master_key, "tier-drafting", "exa", 2.50)
    assert chat(h.base_url, key, "model-cheap").status_code == 200

    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(0), tzinfo=BUDGET_TZ)
    # The day after `until`, by the budget checks' clock only: LiteLLM's monthly reset job keeps the real
    # clock, or from about the 24th of a month it would reset the spend and this 422 would be a 200.
    clock_proxy.move_clock((end - dt.datetime.now(dt.UTC)).total_seconds() + 60)
    try:
        r = chat(h.base_url, key, "model-cheap")
        assert r.status_code == 422 and r.json()["error"]["type"] == "budget_exceeded", r.text
    finally:
        clock_proxy.move_clock(0)
    assert chat(h.base_url, key, "model-cheap").status_code == 200  # back to today: still granted

    path = workspace / "users" / "exa.yaml"
    path.write_text(path.read_text().split("budget_exception:")[0])  # a PR removes it
    assert "member budget: $2.00/month, 10 RPM + $1.00 until" in slowctl("plan").stdout
    slowctl("apply", "--confirm")
    r = chat(h.base_url, key, "model-cheap")
    assert r.status_code == 422, r.text  # at once: apply drops the member row and LiteLLM's cache of it
    assert member_row(h.base_url, h.master_key, "tier-drafting", "exa")["budget_source"] == "team_default"


def test_a_tier_move_keeps_the_months_spend(slowctl, workspace, clock_proxy):
    h = clock_proxy.harness
    write_user(workspace, "mover")
    slowctl("apply", "--confirm")
    key = secret_key("mover")
    assert chat(h.base_url, key, "model-cheap", "x [[usage in=1500000 out=0]]").status_code == 200  # $1.50
    wait_for_spend(h.base_url, h.master_key, "tier-drafting", "mover", 1.50)
    path = workspace / "users" / "mover.yaml"
    path.write_text(path.read_text().replace("tier: drafting", "tier: coding"))
    plan = slowctl("plan")
    assert "spend carried over: (none) -> $1.50 already spent this month" in plan.stdout
    slowctl("apply", "--confirm")
    row = member_row(h.base_url, h.master_key, "tier-coding", "mover")
    assert row["litellm_budget_table"]["max_budget"] == 18.5 and row["spend"] == 0
    assert wait_for_status(h.base_url, key, "model-balanced", 200, seconds=70).status_code == 200
    # $18.60 more is past what is left of the month's $20.00 ($18.50), though under a fresh $20.00
    assert chat(h.base_url, key, "model-balanced", "x [[usage in=6200000 out=0]]").status_code == 200
    r = wait_for_status(h.base_url, key, "model-balanced", 422)
    assert r.status_code == 422 and r.json()["error"]["type"] == "budget_exceeded", r.text
    assert slowctl("plan", "--detailed-exitcode").returncode == 0  # the carry is the desired state


def test_drift_catches_an_out_of_band_member_budget_and_apply_restores_the_tier(gatewayctl, workspace, admin):
    reset_gateway(admin)
    gatewayctl("apply", "--confirm", check=True)
    admin.post("/team/member_update", json={"team_id": "tier-drafting", "user_id": "alice",
                                            "max_budget_in_team": 100.0}).raise_for_status()
    drift = gatewayctl("drift")
    assert drift.returncode == 2, drift.stdout + drift.stderr
    assert "member budget: $100.00/month, 10 RPM -> tier default" in drift.stdout
    gatewayctl("apply", "--confirm", check=True)
    info = admin.get("/team/info", params={"team_id": "tier-drafting", "key_limit": 1}).json()
    row = next(m for m in info["team_memberships"] if m["user_id"] == "alice")
    assert row["budget_source"] == "team_default" and row["litellm_budget_table"]["max_budget"] == 2.0
    assert gatewayctl("drift").returncode == 0
