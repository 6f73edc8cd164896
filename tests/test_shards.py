"""A tier's teams (reconciler/desired/shards.py): their ids, and which one each user is in.

The golden values pin the function: a change to the hash or to the jump would move users between
teams on the next apply, each a move with its spend carried. It must not happen by accident."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.desired import shards
from reconciler.desired.policy import USER_ID

REPO = Path(__file__).resolve().parents[1]
PROPERTY = settings(max_examples=100, deadline=None, derandomize=True, database=None)
user_ids = st.from_regex(USER_ID, fullmatch=True).filter(lambda s: 2 <= len(s) <= 64)


def test_jump_hash_matches_the_papers_algorithm():
    """Reference values of other implementations of Lamping & Veach's C++ code (ClickHouse's
    jumpConsistentHash tests, the Rust and Python ports): the jump is the published one."""
    vectors = [(1, 1, 0), (42, 57, 43), (256, 1024, 520), (0xDEAD10CC, 1, 0), (0xDEAD10CC, 666, 361),
               (16045690984833335023, 255, 237), (0, 60, 0), (1, 60, 55), (2, 60, 46)]
    assert [shards.jump_hash(key, n) for key, n, _ in vectors] == [want for _, _, want in vectors]


GOLDEN = {  # user id -> its team for teams = 1, 2, 3, 8
    "alice": (0, 1, 1, 4), "bob": (0, 1, 1, 1), "carol": (0, 1, 1, 4), "dave": (0, 1, 1, 3),
    "erin": (0, 0, 0, 7), "frank": (0, 0, 0, 0), "grace": (0, 1, 2, 6), "heidi": (0, 0, 0, 6),
    "ivan.petrov": (0, 1, 2, 3), "judy-o": (0, 0, 0, 7),
}


def test_golden_shards():
    assert shards.stable_hash("alice") == 3159282601090220207  # sha256("alice")[:8], big-endian
    assert {uid: tuple(shards.shard_of(uid, n) for n in (1, 2, 3, 8)) for uid in GOLDEN} == GOLDEN


@PROPERTY
@given(uid=user_ids, n=st.integers(min_value=1, max_value=shards.MAX_TEAMS - 1))
def test_one_more_team_only_moves_users_into_it(uid, n):
    before, after = shards.shard_of(uid, n), shards.shard_of(uid, n + 1)
    assert 0 <= before < n
    assert after in (before, n)


def test_one_more_team_moves_about_its_share():
    """Going from N to N+1 teams moves about 1/(N+1) of the users, the consistent-hash promise."""
    users = [f"user-{i:05d}" for i in range(10_000)]
    for n in (1, 2, 3, 7):
        moved = sum(shards.shard_of(u, n) != shards.shard_of(u, n + 1) for u in users)
        assert abs(moved / len(users) - 1 / (n + 1)) < 0.02, (n, moved)
        sizes = [sum(shards.shard_of(u, n + 1) == s for u in users) for s in range(n + 1)]
        assert max(sizes) - min(sizes) < 0.1 * len(users) / (n + 1), sizes  # and the teams stay even


def test_team_ids_round_trip():
    assert shards.team_ids("coding", 3) == ("tier-coding", "tier-coding.1", "tier-coding.2")
    for key in ("coding", "coding-1", "a", "x" * 32):
        for shard in (0, 1, 2, 10, 63):
            assert shards.parse(shards.team_id(key, shard)) == (key, shard)


def test_a_tier_named_like_a_shard_is_its_own_tier():
    """Tier `coding-1` and the second team of tier `coding` can never have the same id."""
    assert shards.team_id("coding-1") == "tier-coding-1" != shards.team_id("coding", 1) == "tier-coding.1"
    assert shards.parse("tier-coding-1") == ("coding-1", 0)
    assert shards.parse("tier-coding.1") == ("coding", 1)
    assert shards.member_team(("tier-coding-1", "tier-coding.2"), "coding") == "tier-coding.2"
    assert shards.member_team(("tier-coding-1",), "coding") is None


@pytest.mark.parametrize("team", ["tier-", "tier-Coding", "tier-coding.", "tier-coding.0", "tier-coding.01",
                                  "tier-coding.1.2", "tier-coding.x", "team-coding", "coding", "tier-1coding"])
def test_other_team_ids_are_not_tier_teams(team):
    assert shards.parse(team) is None and not shards.is_tier_team(team)


def test_the_limits_are_the_schemas():
    tiers = json.loads((REPO / "schemas" / "tiers.schema.json").read_text())["properties"]["tiers"]
    assert tiers["propertyNames"]["pattern"] == shards.TIER_KEY.pattern
    teams = tiers["additionalProperties"]["properties"]["teams"]
    assert (teams["minimum"], teams["maximum"], teams["default"]) == (1, shards.MAX_TEAMS, 1)
    assert not re.search(shards.TIER_KEY.pattern, "coding" + shards.SHARD_SEPARATOR)  # no key has the separator
