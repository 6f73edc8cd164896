"""gatewayctl_me's reading of the nightly job's tags, and what `gatewayctl me` says from them (no AWS)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gatewayctl_me import contract
from gatewayctl_me.selfservice import render_usage, session_name, usage_from_tags, user_id_from_session

NOW = dt.datetime(2026, 12, 8, 6, 0, tzinfo=dt.UTC)
TAGS = {contract.TIER_TAG: "Drafting", contract.MODELS_TAG: "model-cheap", contract.SPEND_TAG: "1.654321",
        contract.BUDGET_TAG: "2.00", contract.RESETS_TAG: "2027-01-01T00:00:00+05:30",
        contract.ROTATES_TAG: "2027-02-10", contract.AS_OF_TAG: "2026-12-07T23:47:10Z"}


def test_the_month_as_the_member_reads_it():
    usage = usage_from_tags(TAGS)
    assert usage.spent == Decimal("1.654321") and usage.percent == 82
    assert render_usage(usage, NOW) == [
        "tier:          Drafting (model model-cheap)",
        "spent:         $1.65 of your $2.00 budget (82%)",
        "budget resets: 2027-01-01 00:00 UTC+05:30 (in 24 days)",
        "key rotates:   2027-02-10 (in 64 days)",
        "as of:         2026-12-07 23:47 UTC (6 h ago, the nightly job; calls since then are not counted here)"]


def test_a_due_rotation_and_a_tier_without_one():
    due = render_usage(usage_from_tags({**TAGS, contract.ROTATES_TAG: "2026-12-08"}), NOW)
    assert "key rotates:   2026-12-08 (due: the next nightly run rotates it)" in due
    never = render_usage(usage_from_tags({**TAGS, contract.ROTATES_TAG: contract.NEVER}), NOW)
    assert "key rotates:   never (your tier has no scheduled rotation)" in never


def test_missing_or_broken_tags_read_as_not_published():
    for tags in ({}, {k: v for k, v in TAGS.items() if k != contract.AS_OF_TAG}, {**TAGS, contract.SPEND_TAG: "x"}):
        assert usage_from_tags(tags) is None
        assert render_usage(None, NOW)[0].startswith("this month:    not published yet")


def test_the_id_from_a_session_name():
    arn = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Developer_0123/alice@example.com"
    assert session_name(arn) == "alice@example.com" and user_id_from_session(arn) == "alice"
    assert user_id_from_session("arn:aws:iam::123456789012:user/bob") == "bob"
