"""What a PR costs, in the plan: budget/RPM/models before -> after, the grant's owner and
justification, and the change of maximum monthly commitment per cost center (plain data)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from test_plan_unit import converged, desired, report_for, user

from reconciler.desired.policy import BudgetException
from reconciler.plan import PlanReport, report

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def test_tier_move_shows_the_cost_per_cost_center_in_every_format():
    live = converged(user("ann"), user("bob", "coding"))
    reviewed = report_for(desired(user("ann", "coding"), user("bob", "coding")), live, now=NOW)
    (entry,) = reviewed.finops["users"]
    assert entry["user"] == "ann" and entry["owner"] == "boss@example.com"
    assert entry["justification"] == "because reasons"
    assert entry["before"] == {"tier": "drafting", "budget_usd": "2.00", "exception_usd": "0.00", "rpm_limit": 10,
                               "models": ["model-cheap"]}
    assert entry["after"]["budget_usd"] == "20.00" and entry["after"]["models"] == ["model-balanced"]
    assert entry["delta_usd_per_month"] == "+$18.00"
    assert reviewed.finops["cost_centers"] == [{"cost_center": "CC-1", "before_usd": "22.00", "after_usd": "40.00",
                                            "delta": "+$18.00"}]
    assert reviewed.finops["total"] == {"before_usd": "22.00", "after_usd": "40.00", "delta": "+$18.00"}

    text = report.render_plan(reviewed, "text")
    assert "+$18.00/month for CC-1" in text and "drafting $2.00/month, 10 RPM, [model-cheap] -> coding $20.00" in text
    md = report.render_plan(reviewed, "markdown")
    # user-controlled text is escaped (reconciler.plan.report.escape_markdown): it renders as written
    assert "**What it costs**" in md and f"- {report.escape_markdown('+$18.00/month for CC-1')}" in md
    assert report.escape_markdown("approved by boss@example.com") in md
    # reviewed --format json and a saved reviewed carry the same figures
    again = PlanReport.from_json(reviewed.to_json())
    assert again.finops == reviewed.finops


def test_exception_and_offboarding_change_the_commitment():
    ann = replace(user("ann"), budget_exception=BudgetException(Decimal("3.00"), dt.date(2026, 12, 5), "FIN-7"))
    live = converged(user("ann"), user("bob", "coding"))
    reviewed = report_for(desired(ann), live, now=NOW)  # bob offboarded, ann gets +$3.00
    by_user = {u["user"]: u for u in reviewed.finops["users"]}
    assert by_user["ann"]["delta_usd_per_month"] == "+$3.00"
    assert by_user["ann"]["exception"] == {"extra_usd": "3.00", "until": "2026-12-05", "ticket": "FIN-7"}
    assert by_user["bob"]["after"] is None and by_user["bob"]["delta_usd_per_month"] == "-$20.00"
    assert reviewed.finops["total"]["delta"] == "-$17.00"
    assert "exception +$3.00 until 2026-12-05 (FIN-7)" in report.render_plan(reviewed, "text")


def test_no_change_shows_no_cost_section():
    users = [user("ann")]
    reviewed = report_for(desired(*users), converged(*users), now=NOW)
    assert reviewed.finops["users"] == [] and "What it costs" not in report.render_plan(reviewed, "text")
