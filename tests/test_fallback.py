"""A model's `fallback:` on the genuine LiteLLM proxy (the shared session gateway on the repository's
gateway/config.yaml): when Bedrock throttles the primary profile, the call is served by the fallback
profile of the same model, the user's key (allowed the alias only) still gets a 200, and the spend is the
fallback's price from the pinned LiteLLM's price table."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest
import yaml
from helpers import chat, reset_gateway, secret_key, write_user

from reconciler.desired import bedrock

pytestmark = pytest.mark.integration

IN, OUT = 1000, 100
TEXT = f"draft this [[usage in={IN} out={OUT}]]"


def _cheap_with_fallback(repo_root) -> tuple[str, str, str]:
    """The repository's model with a fallback: (alias, primary ID, fallback ID)."""
    models = yaml.safe_load((repo_root / "policies" / "models.yaml").read_text(encoding="utf-8"))["models"]
    alias, spec = next((a, m) for a, m in sorted(models.items()) if m.get("fallback"))
    return alias, spec["bedrock_model_id"], bedrock.with_profile(spec["bedrock_model_id"], spec["fallback"])


def _control(gateway, switches: dict) -> None:
    httpx.put(gateway.harness.fake_bedrock_url + "/_fake/control", json=switches, trust_env=False).raise_for_status()


def _calls(gateway, since: float) -> list[tuple[str, int]]:
    return [(r["model_id"], r["status"]) for r in gateway.harness.fake_bedrock_requests()
            if r["ts"] >= since and r.get("operation") == "converse"]


def _key_spend(admin: httpx.Client, key: str, want: Decimal, seconds: float = 60) -> Decimal:
    """The key's spend once LiteLLM has written it (spend is batched to the database)."""
    deadline = time.monotonic() + seconds
    while True:
        spend = Decimal(str(admin.get("/key/info", params={"key": key}).json()["info"]["spend"] or 0))
        if spend >= want - Decimal("1e-9") or time.monotonic() > deadline:
            return spend
        time.sleep(1)


def _primary_serves_again(gateway, alias: str, primary: str, seconds: float = 60) -> None:
    """Wait out LiteLLM's cooldown of the throttled deployment, so later tests see the primary again."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        since = time.time()
        chat(gateway.base_url, gateway.master_key, alias, "hi [[usage in=1 out=1]]")
        if (primary, 200) in _calls(gateway, since):
            return
        time.sleep(1)
    raise AssertionError(f"{primary} still not called {seconds}s after the throttle was lifted")


def test_a_throttled_primary_is_served_by_the_fallback_at_the_fallbacks_price(
        gatewayctl, workspace, gateway, admin, repo_root):
    if gateway.harness is None:
        pytest.skip("needs the local fake Bedrock's switches (LITELLM_TEST_BASE_URL points elsewhere)")
    alias, primary, fallback = _cheap_with_fallback(repo_root)
    reset_gateway(admin)
    for p in (workspace / "users").glob("*.yaml"):
        p.unlink()
    write_user(workspace, "fae", "drafting")  # Drafting lists model-cheap only
    gatewayctl("apply", "--confirm", check=True)
    key = secret_key("fae")
    allowed = admin.get("/key/info", params={"key": key}).json()["info"]
    assert fallback not in str(allowed), "the key is allowed the alias, never a Bedrock ID"

    since = time.time()
    _control(gateway, {"throttle": [primary]})
    try:
        r = chat(gateway.base_url, key, alias, TEXT)
    finally:
        _control(gateway, {})
    assert r.status_code == 200, r.text
    calls = _calls(gateway, since)
    assert (primary, 429) in calls and calls[-1] == (fallback, 200), calls
    assert not any(model not in (primary, fallback) for model, _ in calls), calls

    price_in, price_out = bedrock.prices(fallback)
    want = IN * price_in + OUT * price_out
    assert want != IN * bedrock.prices(primary)[0] + OUT * bedrock.prices(primary)[1], "prices must tell them apart"
    assert Decimal(r.headers["x-litellm-response-cost"]) == pytest.approx(want, abs=Decimal("1e-12"))
    assert _key_spend(admin, key, want) == pytest.approx(want, abs=Decimal("1e-12"))
    _primary_serves_again(gateway, alias, primary)
