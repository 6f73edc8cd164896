"""Which key may read the month's spend: measured on the genuine LiteLLM 1.108.7 proxy (issue #22).

`gatewayctl report` reads every spend-log row of a period from `/spend/logs/v2` (reconciler/finops/spend.py).
Three candidates, each a user role with a key limited by `allowed_routes`:
- the plan-viewer key (proxy_admin_viewer, the routes `plan` needs): no spend at all;
- internal_user_viewer limited to /spend/logs/v2: answered 200, but LiteLLM scopes the rows to the caller's
  own, so a chargeback with it would be silently empty;
- proxy_admin_viewer limited to /spend/logs/v2 (the spend reader `apply --spend-reader` keeps): every row, and
  nothing else: no other spend route, no listing, no write.
docs/security.md, "Service keys", records the same table."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from decimal import Decimal

import httpx
import pytest
from helpers import chat, managed_keys, reset_gateway, reset_secrets, secret_key

from reconciler.desired.policy import BUDGET_TZ
from reconciler.live.keystore import DEFAULT_SERVICE_PREFIX, key_hash
from reconciler.plan.viewer import PLAN_VIEWER, SPEND_READER

pytestmark = pytest.mark.integration

SPEND_ROUTES = ("/spend/logs/v2", "/spend/logs", "/global/spend/report", "/global/spend/logs", "/global/spend",
                "/global/spend/keys", "/global/activity", "/user/daily/activity")
OTHER_READS = ("/key/list", "/user/list", "/team/list", "/v2/team/list", "/budget/list", "/key/info")
WRITES = (("/key/generate", {}), ("/user/new", {"user_id": "x"}), ("/key/delete", {"keys": ["x"]}),
          ("/team/new", {"team_alias": "x"}), ("/global/spend/reset", {}))


@pytest.fixture(autouse=True)
def clean(admin, aws_env):
    reset_gateway(admin)
    reset_secrets()


def _window() -> dict[str, str]:
    now = dt.datetime.now(dt.UTC)
    fmt = "%Y-%m-%d %H:%M:%S"
    return {"start_date": (now - dt.timedelta(hours=1)).strftime(fmt),
            "end_date": (now + dt.timedelta(hours=1)).strftime(fmt), "page_size": 100}


def _measure(base_url: str, key: str) -> tuple[dict[str, int], dict[str, int], int]:
    """Status per spend route and per other route, and how many spend rows of alice /spend/logs/v2 shows."""
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, trust_env=False,
                      timeout=60) as c:
        spend = {p: c.get(p, params=_window()).status_code for p in SPEND_ROUTES}
        other = {p: c.get(p).status_code for p in OTHER_READS}
        other |= {f"POST {p}": c.post(p, json=b).status_code for p, b in WRITES}
        r = c.get("/spend/logs/v2", params=_window())
        rows = [x for x in r.json()["data"] if x.get("user") == "alice"] if r.status_code == 200 else []
    return spend, other, len(rows)


def _key_for(admin: httpx.Client, user_id: str, role: str, routes: list[str]) -> str:
    assert admin.post("/user/new", json={"user_id": user_id, "user_role": role, "models": ["no-default-models"],
                                         "auto_create_key": False}).status_code == 200
    r = admin.post("/key/generate", json={"user_id": user_id, "allowed_routes": routes})
    assert r.status_code == 200, r.text
    return r.json()["key"]


def _wait_for_alice_row(admin: httpx.Client) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        rows = admin.get("/spend/logs/v2", params=_window()).json()["data"]
        if any(x.get("user") == "alice" for x in rows):
            return
        time.sleep(2)
    raise AssertionError("alice's call never reached the spend logs")


def test_only_a_proxy_admin_viewer_key_limited_to_spend_logs_v2_reads_all_spend_and_nothing_else(
        gatewayctl, gateway, admin, workspace):
    gatewayctl("apply", "--confirm", "--plan-viewer", "--spend-reader", check=True)
    assert chat(gateway.base_url, secret_key("alice"), "model-cheap").status_code == 200
    _wait_for_alice_row(admin)

    reader = secret_key(SPEND_READER.user_id, prefix=DEFAULT_SERVICE_PREFIX)
    (held,) = managed_keys(admin, SPEND_READER.user_id)
    assert held["token"] == key_hash(reader) and held["allowed_routes"] == ["/spend/logs/v2"]
    info = admin.get("/user/info", params={"user_id": SPEND_READER.user_id}).json()["user_info"]
    assert info["user_role"] == "proxy_admin_viewer"

    spend, other, rows = _measure(gateway.base_url, reader)
    every_row = admin.get("/spend/logs/v2", params=_window()).json()["data"]  # earlier tests' rows of alice too
    rows_for_the_master_key = len([x for x in every_row if x.get("user") == "alice"])
    assert spend["/spend/logs/v2"] == 200 and rows == rows_for_the_master_key >= 1, (spend, rows)
    assert all(s in (401, 403) for p, s in spend.items() if p != "/spend/logs/v2"), spend
    assert all(s in (401, 403) for s in other.values()), other

    # The plan-viewer key: none of the spend routes.
    viewer = secret_key(PLAN_VIEWER.user_id, prefix=DEFAULT_SERVICE_PREFIX)
    spend, _, _ = _measure(gateway.base_url, viewer)
    assert set(spend.values()) <= {401, 403}, spend

    # internal_user_viewer with the same route: the call is allowed but shows only its own (no) rows.
    narrow = _key_for(admin, "probe-internal-viewer", "internal_user_viewer", ["/spend/logs/v2"])
    spend, other, rows = _measure(gateway.base_url, narrow)
    assert spend["/spend/logs/v2"] == 200 and rows == 0, (spend, rows)


    # `gatewayctl report` with the spend reader's key gives the master key's figures.
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@e",
                                                              "commit", "-q", "-m", "grants"]):
        subprocess.run(["git", "-C", str(workspace), *cmd], check=True, capture_output=True)
    month = dt.datetime.now(BUDGET_TZ).strftime("%Y-%m")
    as_reader = gatewayctl("report", "--month", month, "--format", "json", env={"LITELLM_MASTER_KEY": reader},
                           check=True)
    as_master = gatewayctl("report", "--month", month, "--format", "json", check=True)
    mine, theirs = json.loads(as_reader.stdout), json.loads(as_master.stdout)
    assert mine["groups"] == theirs["groups"] and Decimal(mine["gateway_total_exact_usd"]) > 0, (mine, theirs)
    # Today alone (--from and --to both included), by model: alice's call is on model-cheap.
    today = dt.datetime.now(BUDGET_TZ).date().isoformat()
    by_model = gatewayctl("report", "--from", today, "--to", today, "--by", "model", "--format", "json",
                          env={"LITELLM_MASTER_KEY": reader}, check=True)
    day = json.loads(by_model.stdout)
    assert day["period"] == f"{today}_{today}" and "model-cheap" in {g["group"] for g in day["groups"]}, day
