"""A tier spread over several LiteLLM teams (`teams` in policies/tiers.yaml) on the genuine LiteLLM
proxy: each user in exactly their team with their key in it, calls that work, 3 -> 4 teams moving
only the users jump hash moves with their month's spend, and chargeback seeing one tier.
The same plans on the fake admin API, faster and in more variants: tests/test_shards_plan_unit.py."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from helpers import chat, generate_users, managed_keys, reset_gateway, reset_secrets, secret_key, wait_for_status
from test_budget_guard_e2e import member_row, wait_for_spend
from test_chargeback import commit, git, month_now, wait_for_spend_rows  # noqa: F401 - month_now is a fixture
from test_shards_plan_unit import set_teams

from reconciler.desired import shards
from reconciler.finops.chargeback import month_range

pytestmark = pytest.mark.integration

FIFTY_CENTS = "x [[usage in=500000 out=0]]"  # $0.50 on model-cheap (Haiku 4.5: $1 per million input tokens)


def members(admin, team_id: str) -> set[str]:
    info = admin.get("/team/info", params={"team_id": team_id, "key_limit": 1}).json()
    return {m["user_id"] for m in info["team_memberships"]} - {"default_user_id"}


def test_a_tier_spread_over_teams(gatewayctl, workspace, gateway, admin, aws_env, month_now):  # noqa: F811
    reset_gateway(admin)
    reset_secrets()
    users = generate_users(workspace, 30, prefix="shard", tiers=("drafting",))
    set_teams(workspace, "drafting", 3)
    start, _ = month_range(month_now)
    git(workspace, "init", "-q", "-b", "main")
    commit(workspace, "thirty drafting users over three teams (#1)", date=start - dt.timedelta(days=1))
    gatewayctl("apply", "--confirm", check=True)

    teams = shards.team_ids("drafting", 3)
    for i, team in enumerate(teams):
        assert members(admin, team) == {u for u in users if shards.shard_of(u, 3) == i}, team
    keys = {k["user_id"]: k for k in managed_keys(admin) if k["user_id"] in users}
    assert {u: k["team_id"] for u, k in keys.items()} == {u: teams[shards.shard_of(u, 3)] for u in users}
    for u in ("shard00000", "shard00001"):  # exactly one tier team on the user row too
        info = admin.get("/user/info", params={"user_id": u}).json()["user_info"]
        assert [t for t in info["teams"] if shards.is_tier_team(t)] == [teams[shards.shard_of(u, 3)]]

    moving = [u for u in users if shards.shard_of(u, 4) == 3]
    assert 0 < len(moving) < len(users) // 2
    spender = moving[0]  # spends before the move
    stayers = [next(u for u in users if shards.shard_of(u, 3) == i and u not in moving) for i in range(3)]
    for u in (spender, *stayers):  # a key in each team calls the model (the fake Bedrock)
        assert chat(gateway.base_url, secret_key(u), "model-cheap", FIFTY_CENTS).status_code == 200
    old_team = teams[shards.shard_of(spender, 3)]
    assert wait_for_spend(gateway.base_url, gateway.master_key, old_team, spender, 0.50) >= 0.50
    assert gatewayctl("plan", "--detailed-exitcode").returncode == 0

    set_teams(workspace, "drafting", 4)
    plan = json.loads(gatewayctl("plan", "--format", "json", check=True).stdout)
    assert [(a["kind"], a["target"]) for a in plan["actions"]] == [("create-tier", "tier:drafting.3")] + [
        ("move", f"user:{u}") for u in sorted(moving)]
    by_user = {a["target"]: a for a in plan["actions"]}
    for u in moving:
        label = ["team", teams[shards.shard_of(u, 3)], "tier-drafting.3 (teams: 3 -> 4)"]
        assert by_user[f"user:{u}"]["changes"][0] == label
    assert by_user[f"user:{spender}"]["changes"][1] == ["spend carried over", None, "$0.50 already spent this month"]
    gatewayctl("apply", "--confirm", "--allow-mass-move", "--allow-mass-change", check=True)

    for i, team in enumerate(shards.team_ids("drafting", 4)):
        assert members(admin, team) == {u for u in users if shards.shard_of(u, 4) == i}, team
    assert managed_keys(admin, spender)[0]["team_id"] == "tier-drafting.3"
    row = member_row(gateway.base_url, gateway.master_key, "tier-drafting.3", spender)
    # The month's $0.50 came along: $1.50 left of $2.00, not a fresh $2.00.
    assert row["litellm_budget_table"]["max_budget"] == 1.5 and row["spend"] == 0
    assert wait_for_status(gateway.base_url, secret_key(spender), "model-cheap", 200, seconds=70).status_code == 200
    assert gatewayctl("plan", "--detailed-exitcode").returncode == 0

    # Chargeback: the tier's spend is one tier, whichever team each call went through.
    rows = wait_for_spend_rows(admin, start, set(users), 5)  # 4 calls before the move, 1 after
    assert {r["user"] for r in rows} == {spender, *stayers}, rows
    report = json.loads(gatewayctl("report", "--month", month_now, "--by", "tier", "--format", "json",
                                   check=True).stdout)
    groups = {g["group"]: g for g in report["groups"]}
    assert groups["drafting"]["users"] == 4
    assert Decimal(groups["drafting"]["exact_usd"]) == sum(Decimal(str(r["spend"])) for r in rows) >= Decimal("2")
    assert not any("." in g or g.startswith(shards.TEAM_PREFIX) for g in groups)
    (tier_row,) = [t for t in report["tiers"] if t["tier"] == "drafting"]
    assert tier_row["members"] == 30 and tier_row["cap_usd"] == "60.00"
