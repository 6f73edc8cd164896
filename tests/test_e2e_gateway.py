"""End to end: users reconciled by gatewayctl, then real calls through the gateway.

Runs the project's own gateway/config.yaml on the genuine LiteLLM proxy with a fake Bedrock
(per-request token counts make budgets quick to exhaust). These calls are what ADR 0002 (tier model in
LiteLLM) was verified with, so `make test-contract` runs them too, after a LiteLLM bump."""

from __future__ import annotations

import time

import pytest
from helpers import chat, managed_keys, reset_gateway, secret_key, wait_for_status, write_user

pytestmark = [pytest.mark.integration, pytest.mark.litellm_contract]

CHEAP = "hi [[usage in=10 out=5]]"
# Claude Haiku 4.5 via the global profile costs 1e-6 USD per input token in litellm's price map.
TWO_DOLLARS = "spend [[usage in=2000000 out=0]]"


@pytest.fixture(autouse=True)
def clean(admin, aws_env):
    reset_gateway(admin)


def only_users(workspace, *users: tuple[str, str]) -> None:
    for p in (workspace / "users").glob("*.yaml"):
        p.unlink()
    for uid, tier in users:
        write_user(workspace, uid, tier)


def test_drafting_user_models_rpm_and_budget(gatewayctl, workspace, gateway):
    only_users(workspace, ("dana", "drafting"), ("dan2", "drafting"))
    gatewayctl("apply", "--confirm", check=True)
    key = secret_key("dana")
    assert chat(gateway.base_url, key, "model-cheap").status_code == 200
    for model in ("model-balanced", "model-reasoning"):
        r = chat(gateway.base_url, key, model)
        assert r.status_code == 403, r.text
        assert "access" in r.json()["error"]["type"]
    statuses = [chat(gateway.base_url, key, "model-cheap").status_code for _ in range(10)]
    assert statuses[:9] == [200] * 9 and statuses[9] == 429  # 10 admitted in this minute, the 11th refused

    key2 = secret_key("dan2")
    assert chat(gateway.base_url, key2, "model-cheap", TWO_DOLLARS).status_code == 200
    r = wait_for_status(gateway.base_url, key2, "model-cheap", 422)
    assert r.status_code == 422 and r.json()["error"]["type"] == "budget_exceeded", r.text


def test_second_key_cannot_escape_the_tier(gatewayctl, workspace, gateway, admin):
    only_users(workspace, ("eve", "drafting"))
    gatewayctl("apply", "--confirm", check=True)
    key1 = secret_key("eve")
    key2 = admin.post("/key/generate", json={"user_id": "eve", "team_id": "tier-drafting",
                                             "models": ["all-team-models"]}).json()["key"]
    codes = [chat(gateway.base_url, k, "model-cheap").status_code for k in [key1, key2] * 6]
    assert codes.count(200) == 10 and codes[-2:] == [429, 429]  # RPM spans both keys
    solo = admin.post("/key/generate", json={"user_id": "eve"}).json()["key"]  # no team: no models
    assert chat(gateway.base_url, solo, "model-cheap").status_code in (401, 403)


def test_budget_spans_all_keys_of_a_user(gatewayctl, workspace, gateway, admin):
    only_users(workspace, ("fay", "drafting"))
    gatewayctl("apply", "--confirm", check=True)
    key1 = secret_key("fay")
    key2 = admin.post("/key/generate", json={"user_id": "fay", "team_id": "tier-drafting",
                                             "models": ["all-team-models"]}).json()["key"]
    assert chat(gateway.base_url, key1, "model-cheap", TWO_DOLLARS).status_code == 200
    r = wait_for_status(gateway.base_url, key2, "model-cheap", 422)
    assert r.status_code == 422 and r.json()["error"]["type"] == "budget_exceeded", r.text


def test_tier_change_moves_the_limits(gatewayctl, workspace, gateway, admin):
    only_users(workspace, ("gus", "drafting"))
    gatewayctl("apply", "--confirm", check=True)
    key = secret_key("gus")
    assert chat(gateway.base_url, key, "model-balanced").status_code == 403
    (workspace / "users" / "gus.yaml").write_text(
        (workspace / "users" / "gus.yaml").read_text().replace("tier: drafting", "tier: coding"))
    gatewayctl("apply", "--confirm", check=True)
    assert secret_key("gus") == key  # same key, new limits
    r = wait_for_status(gateway.base_url, key, "model-balanced", 200, seconds=70)  # auth cache expires
    assert r.status_code == 200, r.text
    assert wait_for_status(gateway.base_url, key, "model-cheap", 403, seconds=70).status_code == 403
    codes = [chat(gateway.base_url, key, "model-balanced").status_code for _ in range(20)]
    assert codes.count(429) == 0  # 50 RPM now, not 10


def test_revocation_gives_401_and_keeps_spend(gatewayctl, workspace, gateway, admin):
    only_users(workspace, ("hal", "drafting"))
    gatewayctl("apply", "--confirm", check=True)
    key = secret_key("hal")
    token = managed_keys(admin, "hal")[0]["token"]
    assert chat(gateway.base_url, key, "model-cheap", "x [[usage in=100000 out=0]]").status_code == 200
    deadline = time.monotonic() + 60  # spend reaches the key row in batches (about every 10 s)
    while admin.get("/key/info", params={"key": token}).json()["info"]["spend"] < 0.09:
        assert time.monotonic() < deadline, "spend never reached the key"
        time.sleep(1)
    (workspace / "users" / "hal.yaml").unlink()
    gatewayctl("apply", "--confirm", check=True)
    r = wait_for_status(gateway.base_url, key, "model-cheap", 401, seconds=70)
    assert r.status_code == 401, r.text
    info = admin.get("/key/info", params={"key": token}).json()["info"]
    assert info["deleted_at"] and info["spend"] == pytest.approx(0.1, abs=0.01)
    assert gatewayctl("apply", "--confirm", check=True).returncode == 0
