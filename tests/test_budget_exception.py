"""budget_exception in users/<id>.yaml: the validate rules, and the member budget rows plan makes
of exceptions, carried spend and out-of-band overrides (plain data, no gateway)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from helpers import write_user
from test_plan_unit import converged, desired, plan_for, user

from reconciler.desired.policy import BudgetException
from reconciler.desired.validate import check
from reconciler.live.state import LiveMembership

TODAY = dt.date(2026, 11, 26)
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def exception_yaml(extra="1.00", until="2026-12-05", ticket="FIN-42") -> str:
    return f"budget_exception:\n  extra_usd: {extra}\n  until: {until}\n  ticket: {ticket}\n"


def problems(root) -> list[str]:
    diags, _ = check(root, today=TODAY)
    return [d.text() for d in diags]


def test_a_valid_exception_is_read_exactly(workspace):
    write_user(workspace, "dina", extra=exception_yaml("1.50"))
    diags, state = check(workspace, today=TODAY)
    assert diags == []
    assert state.users["dina"].budget_exception == BudgetException(Decimal("1.50"), dt.date(2026, 12, 5), "FIN-42")


def test_exception_rules(workspace):
    write_user(workspace, "toolong", extra=exception_yaml(until="2027-02-25"))
    write_user(workspace, "ended", extra=exception_yaml(until="2026-11-25"))
    write_user(workspace, "overcap", extra=exception_yaml(extra="5.01"))
    write_user(workspace, "cents", extra=exception_yaml(extra="1.001"))
    write_user(workspace, "noticket", extra=exception_yaml(ticket="please"))
    out = "\n".join(problems(workspace))
    assert "users/toolong.yaml:" in out and "more than 90 days after 2026-11-26" in out
    assert "[users/exception-too-long]" in out
    assert "users/ended.yaml:" in out and "ended on 2026-11-25" in out and "[users/exception-ended]" in out
    assert "users/overcap.yaml:" in out and "above the drafting tier's cap of 5.00" in out
    assert "users/cents.yaml:" in out and "[users/exception-precision]" in out
    assert "users/noticket.yaml:" in out and "does not match the allowed form" in out
    for p in (workspace / "users").glob("*.yaml"):
        p.unlink()
    write_user(workspace, "ninety", extra=exception_yaml(until="2027-02-24"))  # 90 days after 2026-11-26
    assert problems(workspace) == []


def test_a_tier_without_a_cap_grants_no_exception(workspace):
    tiers = workspace / "policies" / "tiers.yaml"
    tiers.write_text(tiers.read_text().replace("    max_exception_usd: 50.00\n", ""))
    write_user(workspace, "cody", tier="coding", extra=exception_yaml())
    out = "\n".join(problems(workspace))
    assert "tier 'coding' grants no budget exceptions" in out and "[users/exception-not-allowed]" in out


def test_self_approved_exception_is_refused(workspace):
    write_user(workspace, "self", owner="self@example.com", extra=exception_yaml())
    assert any("[users/self-approval]" in m for m in problems(workspace))


# --- member budget rows in the plan -------------------------------------------------------------


def with_exception(u, extra="1.00", until=dt.date(2026, 12, 5)):
    return replace(u, budget_exception=BudgetException(Decimal(extra), until, "FIN-1"))


def custom_row(u, team="tier-drafting", max_budget="2.00", rpm=10, temp=None, expiry=None, duration="1mo",
               spend="0"):
    return LiveMembership(u, team, Decimal(spend), True, Decimal(max_budget), rpm, duration,
                          Decimal(temp) if temp else None, expiry)


def test_exception_becomes_a_self_expiring_member_row():
    ann = with_exception(user("ann"))
    (action,) = plan_for(desired(ann), converged(user("ann")), now=NOW).actions
    (step,) = action.steps
    assert step.op == "member_budget_set"
    # the end of 5 December in Asia/Kolkata; a permanent field in the patch makes LiteLLM clone the tier row
    assert step.args == {"team_id": "tier-drafting", "user_id": "ann", "max_budget_in_team": 2.0, "rpm_limit": 10,
                         "temp_budget_increase": 1.0, "temp_budget_expiry": "2026-12-05T18:30:00+00:00"}
    assert action.changes == [("member budget", "tier default",
                               "$2.00/month, 10 RPM + $1.00 until 2026-12-05T18:30:00+00:00")]


def test_applied_exception_plans_nothing_and_ended_one_goes_back_to_the_tier_row():
    ann = with_exception(user("ann"))
    live = converged(user("ann"))
    live.memberships["tier-drafting"] = {"ann": custom_row("ann", temp="1.00", expiry="2026-12-05T18:30:00+00:00")}
    assert plan_for(desired(ann), live, now=NOW).actions == []
    later = plan_for(desired(ann), live, today=dt.date(2026, 12, 6),  # the same file after `until`
                     now=NOW + dt.timedelta(days=10))
    (action,) = later.actions
    assert [s.op for s in action.steps] == ["member_budget_reset"]


def test_out_of_band_override_is_drift_that_apply_reverts():
    live = converged(user("ann"))
    live.memberships["tier-drafting"] = {"ann": custom_row("ann", max_budget="100.00", duration=None)}
    (action,) = plan_for(desired(user("ann")), live, now=NOW).actions
    assert [s.op for s in action.steps] == ["member_budget_reset"]
    assert action.changes == [("member budget", "$100.00/month, 10 RPM", "tier default")]


def test_a_row_without_the_monthly_window_is_replaced_not_patched():
    ann = with_exception(user("ann"))
    live = converged(user("ann"))
    live.memberships["tier-drafting"] = {"ann": custom_row("ann", max_budget="2.00", duration=None)}
    (action,) = plan_for(desired(ann), live, now=NOW).actions
    assert [s.op for s in action.steps] == ["member_budget_reset", "member_budget_set"]


def test_a_move_carries_the_months_spend_into_the_new_tier():
    live = converged(user("ann"))
    live.memberships["tier-drafting"] = {"ann": LiveMembership("ann", "tier-drafting", Decimal("1.50"), False)}
    (action,) = plan_for(desired(user("ann", "coding")), live, now=NOW).actions
    assert action.kind == "move"
    assert action.changes[:2] == [("tier", "drafting", "coding"),
                                  ("spend carried over", None, "$1.50 already spent this month")]
    ops = [s.op for s in action.steps]
    assert ops == ["user_update", "member_add", "member_budget_set", "key_update", "member_delete"]
    meta = action.steps[0].args["metadata"]["budget_carry"]
    assert meta == {"team_id": "tier-coding", "usd": "1.50", "until": "2026-11-30T18:30:00+00:00"}
    assert action.steps[2].args["max_budget_in_team"] == 18.5  # $20.00 - $1.50 for the rest of November


def test_moving_back_in_the_same_month_keeps_the_whole_months_spend():
    ann_live = converged(user("ann", "coding"))
    u = ann_live.users["ann"]
    carry = {"team_id": "tier-coding", "usd": "1.50", "until": "2026-11-30T18:30:00+00:00"}
    ann_live.users["ann"] = replace(u, metadata={**u.metadata, "budget_carry": carry})
    ann_live.memberships["tier-coding"] = {"ann": custom_row("ann", "tier-coding", "18.50", 50, spend="0.40")}
    assert plan_for(desired(user("ann", "coding")), ann_live, now=NOW).actions == []
    (action,) = plan_for(desired(user("ann", "drafting")), ann_live, now=NOW).actions
    set_step = next(s for s in action.steps if s.op == "member_budget_set")
    assert set_step.args["max_budget_in_team"] == 0.10  # $2.00 - ($1.50 carried + $0.40 spent in coding)


def test_carry_ends_with_the_budget_window():
    live = converged(user("ann", "coding"))
    u = live.users["ann"]
    carry = {"team_id": "tier-coding", "usd": "1.50", "until": "2026-11-30T18:30:00+00:00"}
    live.users["ann"] = replace(u, metadata={**u.metadata, "budget_carry": carry})
    live.memberships["tier-coding"] = {"ann": custom_row("ann", "tier-coding", "18.50", 50)}
    december = dt.datetime(2026, 11, 30, 18, 31, tzinfo=dt.UTC)
    (action,) = plan_for(desired(user("ann", "coding")), live, today=dt.date(2026, 12, 1), now=december).actions
    assert [s.op for s in action.steps] == ["member_budget_reset"]
    assert action.kind == "end-carry"
    # The calendar's change, not git's: the nightly job applies it, because a scoped deploy never reads ann.
    (nightly,) = plan_for(desired(user("ann", "coding")), live, today=dt.date(2026, 12, 1), now=december,
                          rotation_only=True).actions
    assert nightly.kind == "end-carry" and [s.op for s in nightly.steps] == ["member_budget_reset"]
    # Before the reset it is nothing at all.
    assert plan_for(desired(user("ann", "coding")), live, today=dt.date(2026, 11, 30),
                    now=december - dt.timedelta(minutes=2), rotation_only=True).actions == []


def with_ended_carry(live, uid="ann", row_budget="18.50"):
    """`uid` moved to coding in November with $1.50 spent; the live row is `row_budget`."""
    u = live.users[uid]
    carry = {"team_id": "tier-coding", "usd": "1.50", "until": "2026-11-30T18:30:00+00:00"}
    live.users[uid] = replace(u, metadata={**u.metadata, "budget_carry": carry})
    live.memberships["tier-coding"] = {uid: custom_row(uid, "tier-coding", row_budget, 50)}
    return live


def test_an_ended_carry_goes_nightly_and_a_change_from_git_waits_for_the_deploy():
    live = with_ended_carry(converged(user("ann", "coding")))
    renamed = replace(user("ann", "coding"), name="Ann Other")
    december = dt.datetime(2026, 11, 30, 18, 31, tzinfo=dt.UTC)
    (action,) = plan_for(desired(renamed), live, today=dt.date(2026, 12, 1), now=december).actions
    assert action.kind == "update" and [s.op for s in action.steps] == ["user_update", "member_budget_reset"]
    nightly = plan_for(desired(renamed), live, today=dt.date(2026, 12, 1), now=december, rotation_only=True)
    (part,) = nightly.actions
    assert part.kind == "end-carry" and [s.op for s in part.steps] == ["member_budget_reset"]
    assert [c[0] for c in part.changes] == ["member budget"]
    assert any("1 other change(s) are left for the deploy job" in w for w in nightly.warnings)


def test_a_stale_carry_does_not_make_a_change_from_git_the_nightly_jobs():
    # The carry ended in November and the row went back to the tier's; in January a PR adds an
    # exception. That is git's change: the deploy's, never the nightly job's, and not "end-carry".
    live = converged(user("ann", "coding"))
    u = live.users["ann"]
    carry = {"team_id": "tier-coding", "usd": "1.50", "until": "2026-11-30T18:30:00+00:00"}
    live.users["ann"] = replace(u, metadata={**u.metadata, "budget_carry": carry})
    ann = with_exception(user("ann", "coding"), extra="10.00", until=dt.date(2027, 1, 20))
    january = dt.datetime(2027, 1, 10, 12, 0, tzinfo=dt.UTC)
    (action,) = plan_for(desired(ann), live, today=dt.date(2027, 1, 10), now=january).actions
    assert action.kind == "update" and [s.op for s in action.steps] == ["member_budget_set"]
    assert plan_for(desired(ann), live, today=dt.date(2027, 1, 10), now=january, rotation_only=True).actions == []


def test_stated_overshoot_bound_must_cover_one_request_to_the_tiers_models(workspace):
    tiers = workspace / "policies" / "tiers.yaml"
    tiers.write_text(tiers.read_text().replace("max_request_usd: 1.56", "max_request_usd: 1.00"))
    out = "\n".join(problems(workspace))
    assert "max_request_usd 1.00 is below what one request to model-balanced can cost: $1.5600" in out
    assert "[tiers/request-bound]" in out


def test_an_ended_exception_is_a_warning_unless_the_change_adds_it(workspace):
    write_user(workspace, "old", extra=exception_yaml(until="2026-11-20"))
    diags, state = check(workspace, today=TODAY)  # on main: LiteLLM has ended it already
    assert state is not None and [d.severity for d in diags if d.rule == "users/exception-ended"] == ["warning"]
    unchanged = {"old": {"budget_exception": {"extra_usd": Decimal("1.00"), "until": "2026-11-20",
                                              "ticket": "FIN-42"}}}
    diags, state = check(workspace, today=TODAY, base_users=unchanged)
    assert state is not None
    diags, state = check(workspace, today=TODAY, base_users={})  # this change adds it
    assert state is None and [d.severity for d in diags if d.rule == "users/exception-ended"] == ["error"]
