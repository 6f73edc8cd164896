"""A tier spread over several LiteLLM teams (`teams` in policies/tiers.yaml), planned and applied
against the fake admin API (tests/fakelitellm.py) with the real executor and key store. The same on
the genuine proxy: tests/test_reconcile.py::test_a_tier_spread_over_teams."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

from fakelitellm import FakeLiteLLM
from helpers import generate_users

from reconciler import cli
from reconciler.apply.executor import Executor
from reconciler.desired import shards
from reconciler.desired.validate import check, load_desired
from reconciler.live import importer
from reconciler.live.client import RequestPolicy
from reconciler.live.keystore import FileStore
from reconciler.live.state import read_live
from reconciler.notifications import budget_alerts
from reconciler.plan import Plan, PlanContext, PlanReport, SafetyLimits, build_plan, review

TODAY = dt.date(2026, 11, 26)
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
MASS = SafetyLimits(allow_mass_move=True, allow_mass_change=True)


def set_teams(root: Path, tier: str, teams: int) -> None:
    path = root / "policies" / "tiers.yaml"
    text = re.sub(r"\n    teams: \d+", "", path.read_text())
    path.write_text(text.replace(f"\n  {tier}:\n", f"\n  {tier}:\n    teams: {teams}\n", 1))


def review_now(fake: FakeLiteLLM, root: Path, store: FileStore, limits: SafetyLimits | None = None) -> PlanReport:
    with fake.client() as client:
        live = read_live(client, store)
    context = PlanContext(today=TODAY, commit="c1", now=NOW, limits=limits or SafetyLimits())
    desired = load_desired(root, today=TODAY)
    return review(build_plan(desired, live, context), desired, live, context)


def plan_now(fake: FakeLiteLLM, root: Path, store: FileStore, limits: SafetyLimits | None = None) -> Plan:
    return review_now(fake, root, store, limits).plan


def apply(fake: FakeLiteLLM, plan: Plan, store: FileStore) -> None:
    assert plan.refused is None, plan.refused
    with fake.client(RequestPolicy(retries=3)) as client:
        results = Executor(client, store, commit="c1", out=io.StringIO()).execute(plan, concurrency=2)
    assert {r.status for r in results} <= {"ok"}, [(r.target, r.status) for r in results]


def assert_converged(fake: FakeLiteLLM, root: Path, store: FileStore) -> None:
    plan = plan_now(fake, root, store)
    assert not plan.has_changes, [(a.kind, a.target, a.changes) for a in plan.out_of_band + plan.actions]


def tier_memberships(fake: FakeLiteLLM, uid: str) -> list[str]:
    return [t for t in fake.users[uid]["teams"] if shards.is_tier_team(t)]


def test_three_teams_are_created_and_each_user_is_in_exactly_theirs(fake, workspace, store):
    users = generate_users(workspace, 30, tiers=("drafting",))
    set_teams(workspace, "drafting", 3)
    plan = plan_now(fake, workspace, store)
    assert [(a.kind, a.target) for a in plan.actions if a.kind == "create-tier"] == [
        ("create-tier", "tier:architect"), ("create-tier", "tier:coding"), ("create-tier", "tier:drafting"),
        ("create-tier", "tier:drafting.1"), ("create-tier", "tier:drafting.2")]
    apply(fake, plan, store)

    teams = ("tier-drafting", "tier-drafting.1", "tier-drafting.2")
    for team in teams:  # the same limits in every team of the tier
        row = fake.budgets[fake.teams[team]["metadata"]["team_member_budget_id"]]
        assert (fake.teams[team]["team_alias"], fake.teams[team]["models"], row["max_budget"], row["rpm_limit"]) == (
            "Drafting", ["model-cheap"], 2.0, 10)
    for uid in users:
        mine = teams[shards.shard_of(uid, 3)]
        assert tier_memberships(fake, uid) == [mine]
        (key,) = [k for k in fake.keys.values() if k["user_id"] == uid]
        assert key["team_id"] == mine
    sizes = [sum(shards.shard_of(u, 3) == s for u in users) for s in range(3)]
    assert min(sizes) > 0, sizes  # 30 users do land in all three teams
    assert_converged(fake, workspace, store)


def test_one_more_team_moves_only_the_users_whose_team_changed_with_their_spend(fake, workspace, store):
    users = generate_users(workspace, 24, tiers=("drafting",))
    apply(fake, plan_now(fake, workspace, store), store)
    for uid in users:
        fake.memberships[("tier-drafting", uid)]["spend"] = 0.75  # this month's spend so far
    set_teams(workspace, "drafting", 2)
    moving = sorted(u for u in users if shards.shard_of(u, 2) == 1)
    assert 0 < len(moving) < len(users)

    refused = plan_now(fake, workspace, store)
    assert refused.counts["move"] == len(moving)  # a move like a tier move, over the default safety limit:
    assert f"refusing to move {len(moving)} users to another tier (or team of their tier)" in refused.refused
    reviewed = review_now(fake, workspace, store, MASS)
    plan = reviewed.plan
    assert [(a.kind, a.target) for a in plan.actions] == [("create-tier", "tier:drafting.1")] + [
        ("move", f"user:{u}") for u in moving]
    move = plan.actions[1]
    assert move.changes[:2] == [("team", "tier-drafting", "tier-drafting.1 (teams: 1 -> 2)"),
                                ("spend carried over", None, "$0.75 already spent this month")]
    assert not any(name == "tier" for name, _, _ in move.changes)  # no fake tier change
    assert reviewed.finops["users"] == [] and reviewed.finops["total"]["delta"] == "+$0.00"  # the same grant, same cost
    apply(fake, plan, store)

    for uid in users:
        team = "tier-drafting.1" if uid in moving else "tier-drafting"
        assert tier_memberships(fake, uid) == [team]
        (key,) = [k for k in fake.keys.values() if k["user_id"] == uid]
        assert key["team_id"] == team
        row = fake.memberships[(team, uid)]
        if uid in moving:  # $2.00 - $0.75: the month is not handed out again
            assert fake.budgets[row["budget_id"]]["max_budget"] == 1.25
            assert fake.users[uid]["metadata"]["budget_carry"]["usd"] == "0.75"
        else:
            assert row["budget_id"] == fake.teams[team]["metadata"]["team_member_budget_id"]
    assert_converged(fake, workspace, store)


def test_fewer_teams_moves_the_users_of_the_dropped_team_and_keeps_the_team(fake, workspace, store):
    users = generate_users(workspace, 12, tiers=("drafting",))
    set_teams(workspace, "drafting", 2)
    apply(fake, plan_now(fake, workspace, store), store)
    back = sorted(u for u in users if shards.shard_of(u, 2) == 1)
    for uid in back:
        fake.memberships[("tier-drafting.1", uid)]["spend"] = 0.5
    set_teams(workspace, "drafting", 1)

    plan = plan_now(fake, workspace, store, MASS)
    assert [(a.kind, a.target) for a in plan.actions] == [("move", f"user:{u}") for u in back]
    assert plan.actions[0].changes[0] == ("team", "tier-drafting.1", "tier-drafting (teams: 2 -> 1)")
    apply(fake, plan, store)
    assert all(tier_memberships(fake, u) == ["tier-drafting"] for u in users)
    # Like the team of a tier removed from tiers.yaml: left in place, empty (its spend history stays).
    assert "tier-drafting.1" in fake.teams
    assert [m["user_id"] for m in fake.teams["tier-drafting.1"]["members_with_roles"]] == ["default_user_id"]
    for uid in back:
        row = fake.memberships[("tier-drafting", uid)]
        assert fake.budgets[row["budget_id"]]["max_budget"] == 1.5
    assert_orphan_reported_until_deleted(fake, workspace, store, "tier-drafting.1", "model-cheap")


def assert_orphan_reported_until_deleted(fake: FakeLiteLLM, root: Path, store: FileStore, team_id: str,
                                         models: str) -> None:
    """A tier team no tier has any more still grants its models to any key made for it: drift (a
    report, never applied) until someone deletes the team."""
    plan = plan_now(fake, root, store)
    assert plan.actions == []
    assert [(a.kind, a.target) for a in plan.out_of_band] == [("report", f"team:{team_id}")]
    assert f"still grants {models} to any key made for it" in plan.out_of_band[0].reason
    del fake.teams[team_id]  # what POST /team/delete does to the team row
    assert_converged(fake, root, store)


def test_a_removed_tiers_team_is_drift_until_deleted(fake, workspace, store):
    users = generate_users(workspace, 4, tiers=("drafting", "coding"))
    apply(fake, plan_now(fake, workspace, store), store)
    for path in (workspace / "users").glob("*.yaml"):
        path.write_text(path.read_text().replace("tier: drafting", "tier: coding"))
    tiers = workspace / "policies" / "tiers.yaml"
    tiers.write_text(re.sub(r"\n  drafting:\n(    .*\n)+", "\n", tiers.read_text(), count=1))
    assert cli.main(["render-config", "--root", str(workspace)]) == 0  # model-cheap loses Drafting's guardrail
    apply(fake, plan_now(fake, workspace, store, MASS), store)
    assert all(tier_memberships(fake, u) == ["tier-coding"] for u in users)
    assert_orphan_reported_until_deleted(fake, workspace, store, "tier-drafting", "model-cheap")


def test_a_tier_move_from_a_team_of_one_tier_to_another_is_a_tier_change(fake, workspace, store):
    generate_users(workspace, 8, tiers=("drafting",))
    set_teams(workspace, "drafting", 2)
    apply(fake, plan_now(fake, workspace, store), store)
    uid = next(u for u in fake.users if shards.shard_of(u, 2) == 1 and u.startswith("user"))
    fake.memberships[("tier-drafting.1", uid)]["spend"] = 1.0
    path = workspace / "users" / f"{uid}.yaml"
    path.write_text(path.read_text().replace("tier: drafting", "tier: coding"))

    (move,) = plan_now(fake, workspace, store).actions
    assert move.changes[:2] == [("tier", "drafting", "coding"),
                                ("spend carried over", None, "$1.00 already spent this month")]
    assert move.steps[1].args == {"team_id": "tier-coding", "user_id": uid}


def test_validate_warns_above_the_users_per_team_limit(workspace):
    generate_users(workspace, shards.MAX_USERS_PER_TEAM * 2 + 1, tiers=("coding",))
    set_teams(workspace, "coding", 2)
    diags, state = check(workspace, today=TODAY)
    (warning,) = [d for d in diags if d.rule == "tiers/users-per-team"]
    assert state is not None and warning.severity == "warning"  # a warning: the state still loads
    assert warning.path == "policies/tiers.yaml" and warning.line == _line_of(workspace, "    teams: 2")
    assert "1001 users in 2 LiteLLM team(s)" in warning.message and "set `teams: 3`" in warning.message
    set_teams(workspace, "coding", 3)
    assert not [d for d in check(workspace, today=TODAY)[0] if d.rule == "tiers/users-per-team"]


def _line_of(root: Path, text: str) -> int:
    return (root / "policies" / "tiers.yaml").read_text().splitlines().index(text) + 1


def test_the_repository_tiers_stay_at_one_team():
    state = load_desired(Path(__file__).resolve().parents[1], today=TODAY)
    assert {k: t.teams for k, t in state.tiers.items()} == {"drafting": 1, "coding": 1, "architect": 1}


def test_alerts_import_and_cost_read_the_users_own_team(fake, workspace, store):
    users = generate_users(workspace, 12, tiers=("drafting",))
    set_teams(workspace, "drafting", 3)
    apply(fake, plan_now(fake, workspace, store), store)
    uid = next(u for u in users if shards.shard_of(u, 3) == 2)
    fake.memberships[("tier-drafting.2", uid)]["spend"] = 1.7
    set_teams(workspace, "drafting", 2)  # planned, not applied: the user is still in tier-drafting.2
    with fake.client() as client:
        live = read_live(client, store)
    state = load_desired(workspace, today=TODAY)
    usage = budget_alerts.usage_of(state.users[uid], state.tiers["drafting"], live, NOW)
    assert usage is not None and usage.spent == Decimal("1.7") and usage.budget == Decimal("2.00")
    assert "tier: drafting\n" in importer.user_yaml(live, uid, TODAY)
    context = PlanContext(today=TODAY, commit="c1", now=NOW, limits=MASS)
    reviewed = review(build_plan(state, live, context), state, live, context)
    assert reviewed.finops["users"] == []  # before and after: drafting, $2.00/month
