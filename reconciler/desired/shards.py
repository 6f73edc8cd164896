"""A tier's LiteLLM teams: their ids, and which of them a user belongs to.

A tier is spread over `teams` LiteLLM teams (policies/tiers.yaml, default 1) because LiteLLM
1.108.7 reads the whole team row, every member listed, on each /key/generate with a team_id:
key creation slows down as a team grows (docs/adr/0002-tier-model-in-litellm.md, "Shards").

Team ids: shard 0 is `tier-<key>` (what a one-team tier always was, so nothing moves while
`teams` stays 1), shard i >= 1 is `tier-<key>.<i>`. A tier key matches ^[a-z][a-z0-9-]{0,31}$
and so never contains the '.', and `tier-coding-1` (tier `coding-1`) cannot be read as a shard.
This module is the only place that builds or reads these ids.

A user's shard: jump consistent hash (Lamping & Veach 2014, arXiv:1406.2294) of the first 64 bits
of sha256(user id). Stable across processes and versions of Python (no `hash()`), and going from
N to N+1 teams moves only about 1/(N+1) of a tier's users, each into the new team N.
tests/test_shards.py pins golden values: changing the function would silently move users.
"""

from __future__ import annotations

import functools
import hashlib
import re

TEAM_PREFIX = "tier-"
SHARD_SEPARATOR = "."
TIER_KEY = re.compile(r"^[a-z][a-z0-9-]{0,31}$")  # schemas/tiers.schema.json propertyNames
MAX_TEAMS = 64  # schemas/tiers.schema.json `teams` maximum
# Above this many members per team `validate` warns: LiteLLM reads the whole team row on every key
# generation, 46-62 ms per key in a 1-member team, 86-106 ms at ~1,400 (docs/performance.md).
MAX_USERS_PER_TEAM = 500

_SHARD = re.compile(r"^[1-9][0-9]*$")  # canonical: no leading zero, so one team has one id


def name(tier_key: str, shard: int = 0) -> str:
    """One shard of a tier as plans name it: `coding`, `coding.1`."""
    return tier_key + (f"{SHARD_SEPARATOR}{shard}" if shard else "")


def team_id(tier_key: str, shard: int = 0) -> str:
    """The LiteLLM team id of one shard of a tier."""
    return TEAM_PREFIX + name(tier_key, shard)


def team_ids(tier_key: str, teams: int) -> tuple[str, ...]:
    """Every team of a tier spread over `teams` teams, shard 0 first."""
    return tuple(team_id(tier_key, i) for i in range(teams))


@functools.lru_cache(maxsize=4096)  # plan asks about every team once per user: a gateway has few team ids
def parse(team: str) -> tuple[str, int] | None:
    """(tier key, shard) of a tier team id; None for any other team id."""
    if not team.startswith(TEAM_PREFIX):
        return None
    key, sep, shard = team[len(TEAM_PREFIX):].partition(SHARD_SEPARATOR)
    if not TIER_KEY.match(key) or (sep and not _SHARD.match(shard)):
        return None
    return key, int(shard) if sep else 0


def label(team: str) -> str:
    """A tier team as plans name it (`coding`, `coding.1`); any other team id as it is."""
    parsed = parse(team)
    return name(*parsed) if parsed else team


def tier_of(team: str) -> str | None:
    """The tier key of a tier team id (any shard), or None."""
    parsed = parse(team)
    return parsed[0] if parsed else None


def is_tier_team(team: str) -> bool:
    return parse(team) is not None


def member_team(teams: tuple[str, ...] | list[str], tier_key: str) -> str | None:
    """The first of `teams` (a user's memberships) that is a team of `tier_key`, or None."""
    return next((t for t in sorted(teams) if tier_of(t) == tier_key), None)


def stable_hash(user_id: str) -> int:
    """The first 64 bits of sha256(user id), big-endian: the same on every machine and run."""
    return int.from_bytes(hashlib.sha256(user_id.encode("utf-8")).digest()[:8], "big")


def jump_hash(key: int, buckets: int) -> int:
    """Jump consistent hash (Lamping & Veach 2014): a bucket in [0, buckets) for a 64-bit key."""
    if buckets < 1:
        raise ValueError(f"buckets must be at least 1, not {buckets}")
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & 0xFFFFFFFFFFFFFFFF
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


def shard_of(user_id: str, teams: int) -> int:
    """Which of a tier's `teams` teams `user_id` belongs in."""
    return jump_hash(stable_hash(user_id), teams)
