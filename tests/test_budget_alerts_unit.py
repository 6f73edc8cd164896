"""Budget alerts on plain data: which thresholds are due, once per budget period, against the
budget LiteLLM enforces; the messages; tiers.yaml's `alerts` rules; the plan's alert line.
No gateway, no AWS (tests/test_budget_alerts_e2e.py runs the same on the genuine proxy)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from decimal import Decimal

import pytest
from helpers import write_user
from test_plan_unit import converged, desired, report_for, user

from reconciler.desired.policy import BudgetException
from reconciler.desired.validate import check
from reconciler.live.state import LiveMembership
from reconciler.notifications import budget_alerts as ba
from reconciler.plan import report
from reconciler.plan.member_budget import CARRY_KEY

D = Decimal
NOW = dt.datetime(2026, 12, 10, 6, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
DEC_RESET = "2026-12-31T18:30:00+00:00"  # 00:00 Asia/Kolkata on 1 January 2027: the December window's end
T = (80, 95, 100)


class Ledger:
    """The ledger's interface on a dict (the real one is a tag on the user's key secret)."""

    def __init__(self, **last):
        self.data = dict(last)

    def last(self, user_id, topic):
        assert topic == ba.TOPIC
        return self.data.get(user_id)

    def record(self, user_id, topic, event_id):
        self.data[user_id] = event_id


# ---------------------------------------------------------------- thresholds


def test_a_threshold_is_reached_exactly_not_rounded():
    assert ba.crossed(T, D("1.59999"), D("2.00")) == []
    assert ba.crossed(T, D("1.60"), D("2.00")) == [80]
    assert ba.crossed(T, D("1.90"), D("2.00")) == [80, 95]
    assert ba.crossed(T, D("2.31"), D("2.00")) == [80, 95, 100]
    assert ba.crossed(T, D("5"), D("0")) == []  # no budget: nothing to warn about


def test_each_threshold_is_due_once_per_period_and_again_in_the_next():
    assert ba.due(T, D("1.70"), D("2.00"), "2026-12", None) == [80]
    assert ba.due(T, D("1.70"), D("2.00"), "2026-12", "2026-12:80") == []  # announced: never again this period
    assert ba.due(T, D("1.95"), D("2.00"), "2026-12", "2026-12:80") == [95]
    assert ba.due(T, D("2.00"), D("2.00"), "2026-12", "2026-12:95") == [100]
    assert ba.due(T, D("2.50"), D("2.00"), "2026-12", "2026-12:100") == []
    # The next period re-arms every threshold (the ledger's last event names the old period).
    assert ba.due(T, D("1.70"), D("2.00"), "2027-01", "2026-12:100") == [80]
    # Thresholds crossed between two runs are due together (one message names them all).
    assert ba.due(T, D("2.10"), D("2.00"), "2026-12", None) == [80, 95, 100]
    assert ba.event_id("2026-12", [80, 95, 100]) == "2026-12:100"


def test_a_ledger_entry_from_another_topic_or_shape_announces_nothing():
    assert ba.announced("key:abc", "2026-12") == 0
    assert ba.announced("2026-12:x", "2026-12") == 0
    assert ba.announced(None, "2026-12") == 0


def test_the_period_is_litellms_budget_window_not_the_clock():
    # A window ending at 00:00 Asia/Kolkata on 1 January is December's, also seen from UTC on 31 December.
    assert ba.period_of(DEC_RESET, NOW) == ("2026-12", dt.datetime(2026, 12, 31, 18, 30, tzinfo=dt.UTC), False)
    # After the end, before LiteLLM's reset job ran: still December, and marked over.
    late = dt.datetime(2026, 12, 31, 19, 0, tzinfo=dt.UTC)
    assert ba.period_of(DEC_RESET, late)[0::2] == ("2026-12", True)
    # No reset time known: the calendar month in Asia/Kolkata (already December at 20:00 UTC on 30 Nov).
    assert ba.period_of(None, dt.datetime(2026, 11, 30, 20, 0, tzinfo=dt.UTC))[0] == "2026-12"


# ---------------------------------------------------------------- usage, from the live rows


def live_with(u, spend="0", row=None, carry=None):
    live = converged(u)
    team = live.teams[f"tier-{u.tier}"]
    live.teams[team.team_id] = replace(team, member_budget_reset_at=DEC_RESET)
    live.memberships[team.team_id] = {u.id: row or LiveMembership(u.id, team.team_id, D(spend), False)}
    if carry is not None:
        lu = live.users[u.id]
        live.users[u.id] = replace(lu, metadata={**lu.metadata, CARRY_KEY: carry})
    return live


def test_usage_on_the_tiers_row():
    ann = user("ann")
    got = ba.usage_of(ann, desired(ann).tiers["drafting"], live_with(ann, "1.70"), NOW)
    assert (got.spent, got.budget, got.period, got.percent, got.window_over) == (D("1.70"), D("2.00"), "2026-12",
                                                                                  85, False)


def test_usage_counts_an_active_exception_and_carried_spend_like_litellm():
    ben = replace(user("ben", "coding"), budget_exception=BudgetException(D("10.00"), dt.date(2026, 12, 15), "FIN-1"))
    # Moved from Drafting with $1.50 spent: Coding's row is $18.50 + $10.00 until the 15th (end, Asia/Kolkata).
    row = LiveMembership("ben", "tier-coding", D("15.00"), True, D("18.50"), 50, "1mo", D("10.00"),
                         "2026-12-15T18:30:00+00:00", "2026-12-31T18:30:00+00:00")
    carry = {"team_id": "tier-coding", "usd": "1.50", "until": DEC_RESET}
    live = live_with(ben, row=row, carry=carry)
    tier = desired(ben).tiers["coding"]
    got = ba.usage_of(ben, tier, live, NOW)
    assert (got.spent, got.budget, got.increase) == (D("16.50"), D("30.00"), D("10.00"))  # the month: 55%
    assert got.percent == 55 and ba.git_budget(ben, tier, TODAY) == D("30.00")
    after = dt.datetime(2026, 12, 16, tzinfo=dt.UTC)  # LiteLLM stopped the increase
    got = ba.usage_of(ben, tier, live, after)
    assert (got.spent, got.budget, got.increase) == (D("16.50"), D("20.00"), D("0.00"))  # 82%: the 80% alert
    assert ba.crossed(tier.alerts or T, got.spent, got.budget) == [80]


def test_not_a_member_yet_is_skipped():
    ann = user("ann")
    live = converged(ann)
    assert ba.usage_of(ann, desired(ann).tiers["drafting"], live, NOW) is None


# ---------------------------------------------------------------- the run on plain data


def alerting(d):
    return replace(d, tiers={k: replace(t, alerts=T) for k, t in d.tiers.items()})


def test_work_out_sends_once_then_nothing_and_warns_on_drift():
    ann, bob = user("ann"), user("bob")
    d = alerting(desired(ann, bob))
    live = live_with(ann, "1.70")
    live.memberships["tier-drafting"]["bob"] = LiveMembership("bob", "tier-drafting", D("0.20"), False)
    ledger = Ledger()
    first = ba.work_out(d, live, ledger, now=NOW, today=TODAY)
    (m,) = first.messages
    assert (m.user_id, m.topic, m.event_id, m.to, m.cc) == ("ann", "budget", "2026-12:80", ("ann@example.com",),
                                                             ("boss@example.com",))
    assert m.subject == "LLM gateway: 80% of your December 2026 budget used"
    assert "You have used $1.70 of your $2.00 budget for December 2026 (tier Drafting)" in m.body
    assert "00:00 Asia/Kolkata on 1 January 2027" in m.body and "users/ann.yaml" in m.body
    assert "sk-" not in m.body and first.warnings == []
    ledger.record(m.user_id, m.topic, m.event_id)
    again = ba.work_out(d, live, ledger, now=NOW, today=TODAY)
    assert again.messages == [] and [f.state for f in again.findings] == ["sent"]

    # Someone set a $100 member budget by hand: alerts follow LiteLLM (the 422 is LiteLLM's), and say so.
    live.memberships["tier-drafting"]["ann"] = LiveMembership("ann", "tier-drafting", D("1.70"), True, D("100.00"),
                                                              10, "1mo", None, None, DEC_RESET)
    drifted = ba.work_out(d, live, Ledger(), now=NOW, today=TODAY)
    assert drifted.messages == [] and "LiteLLM enforces a budget of $100.00" in drifted.warnings[0]


def test_crossings_between_two_runs_go_in_one_message_and_100_says_refused():
    ann = user("ann")
    out = ba.work_out(alerting(desired(ann)), live_with(ann, "2.02"), Ledger(), now=NOW, today=TODAY)
    (m,) = out.messages
    assert m.event_id == "2026-12:100" and m.subject == "LLM gateway: your December 2026 budget is used up"
    assert "That passes the 80%, 95% and 100% alerts since the last check." in m.body
    assert "The gateway now refuses your calls (HTTP 422, budget_exceeded)" in m.body


def test_a_window_litellm_has_not_reset_yet_sends_nothing():
    ann = user("ann")
    late = dt.datetime(2026, 12, 31, 19, 0, tzinfo=dt.UTC)  # 00:30 on 1 January in Asia/Kolkata
    out = ba.work_out(alerting(desired(ann)), live_with(ann, "1.99"), Ledger(), now=late, today=late.date())
    assert out.messages == [] and [f.state for f in out.findings] == ["window over"]


def test_tiers_without_alerts_and_expired_grants_get_none():
    ann, old = user("ann"), user("old", expires=dt.date(2026, 12, 1))
    live = live_with(ann, "1.99")
    live.memberships["tier-drafting"]["old"] = LiveMembership("old", "tier-drafting", D("1.99"), False)
    assert ba.work_out(desired(ann, old), live, Ledger(), now=NOW, today=TODAY).findings == []  # no alerts
    out = ba.work_out(alerting(desired(ann, old)), live, Ledger(), now=NOW, today=TODAY)
    assert [m.user_id for m in out.messages] == ["ann"]


def test_json_finding_is_plain_data():
    ann = user("ann")
    (f,) = ba.work_out(alerting(desired(ann)), live_with(ann, "1.70"), Ledger(), now=NOW, today=TODAY).findings
    assert json.loads(json.dumps(f.to_json()))["due"] == [80]


# ---------------------------------------------------------------- tiers.yaml and plan


def test_repository_tiers_alert():
    _, state = check(__import__("pathlib").Path(__file__).resolve().parents[1])
    assert {k: t.alerts for k, t in state.tiers.items()} == {"drafting": (80, 95, 100), "coding": (80, 95, 100),
                                                             "architect": (50, 80, 95, 100)}


@pytest.mark.parametrize(("value", "rule"), [("[95, 80, 100]", "[tiers/alerts-order]"),
                                             ("[0, 80]", "[schema/minimum]"), ("[80, 101]", "[schema/maximum]"),
                                             ("[80, 80]", "[schema/uniqueItems]"), ("[80.5]", "[schema/type]")])
def test_alerts_must_be_ascending_unique_whole_percentages(workspace, value, rule):
    tiers = workspace / "policies" / "tiers.yaml"
    text = tiers.read_text()
    line = text[:text.index("alerts: [80, 95, 100]")].count("\n") + 1
    tiers.write_text(text.replace("alerts: [80, 95, 100]", f"alerts: {value}", 1))
    write_user(workspace, "ann")
    diags, state = check(workspace, today=TODAY)
    assert state is None
    (d,) = [d for d in diags if d.is_error]
    assert d.text().startswith(f"policies/tiers.yaml:{line}:") and d.text().endswith(rule), d.text()


def test_plan_shows_the_alert_configuration_in_every_format():
    ann = user("ann")
    d = desired(ann)
    d = replace(d, tiers={**d.tiers, "drafting": replace(d.tiers["drafting"], alerts=T)})
    reviewed = report_for(d, converged(ann))
    line = "Budget alerts (gatewayctl notify, to the member with their owner in copy): drafting 80%, 95%, 100%; " \
           "coding none"
    assert line in report.text(reviewed).splitlines()
    assert "drafting 80%, 95%, 100%; coding none" in report.markdown(reviewed)
    data = json.loads(report.render_plan(reviewed, "json"))
    assert data["budget_alerts"] == {"drafting": [80, 95, 100], "coding": []}
    assert reviewed.from_json(data).budget_alerts == data["budget_alerts"]


def test_nothing_in_litellm_redirects_or_switches_off_the_alerts():
    """Thresholds and addresses come from users/ and policies/: a changed email in LiteLLM or
    LiteLLM's own alert settings on the tier's team change nothing (drift has nothing to compare)."""
    ann = user("ann")
    live = live_with(ann, "1.70")
    lu = live.users["ann"]
    live.users["ann"] = replace(lu, fields={**lu.fields, "user_email": "attacker@example.net"},
                                metadata={**lu.metadata, "team_member_max_budget_alert_emails": {}})
    (m,) = ba.work_out(alerting(desired(ann)), live, Ledger(), now=NOW, today=TODAY).messages
    assert (m.to, m.cc) == (("ann@example.com",), ("boss@example.com",))
