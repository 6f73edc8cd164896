"""The live state: what LiteLLM (and the key store) hold now, read with the fewest calls.

Teams: one /v2/team/list page per 100 teams. Tier budgets: one /budget/list call.
Tier memberships (each member's spend this budget window and any per-member budget row): one
/team/info call per managed tier team (a tier may have several, reconciler/desired/shards.py), with
`key_limit=1` so the team's keys are not listed.
Users: /user/list, 100 per call. Keys: /key/list with full objects, 100 per call.
Key secrets: one key-store listing (Secrets Manager ListSecrets, 100 per call).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from reconciler.desired import mapping, shards
from reconciler.desired.policy import MANAGED_BY, Tier, User, money
from reconciler.live.client import AdminClient
from reconciler.live.digest import json_digest

# LiteLLM keeps a team's per-member limits in its member budget row: team field -> the row's column.
MEMBER_BUDGET_COLUMNS = {"team_member_budget": "max_budget", "team_member_rpm_limit": "rpm_limit",
                         "team_member_tpm_limit": "tpm_limit", "team_member_budget_duration": "budget_duration"}


def is_managed(obj: dict) -> bool:
    return (obj.get("metadata") or {}).get("managed_by") == MANAGED_BY


def _read(litellm_field: str) -> property:
    """One of `fields`, by its LiteLLM name, for the code that asks for it by name."""
    return property(lambda self: self.fields.get(litellm_field))


@dataclass(frozen=True)
class LiveTeam:
    team_id: str
    fields: dict[str, Any]  # the LiteLLM team fields the mapping table names (reconciler/desired/mapping.py), as read
    managed: bool
    member_budget_reset_at: str | None = None  # end of the current budget window (ISO 8601, UTC)

    alias = _read("team_alias")
    member_budget = _read("team_member_budget")  # Decimal
    member_rpm = _read("team_member_rpm_limit")

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self.fields.get("models") or ())


@dataclass(frozen=True)
class LiveUser:
    user_id: str
    fields: dict[str, Any]  # the LiteLLM user fields the mapping table names (reconciler/desired/mapping.py), as read
    teams: tuple[str, ...]
    metadata: dict
    managed: bool

    email = _read("user_email")
    alias = _read("user_alias")
    role = _read("user_role")


@dataclass(frozen=True)
class LiveKey:
    token: str  # sha256 of the raw key: what reports show
    alias: str | None
    user_id: str | None
    team_id: str | None
    models: tuple[str, ...]
    blocked: bool
    metadata: dict
    managed: bool
    expires: str | None = None  # ISO 8601, UTC
    allowed_routes: tuple[str, ...] | None = None  # None: LiteLLM's default, every route the role allows
    created_at: str | None = None  # ISO 8601, UTC: the age of keys minted before gitops_issued_on existed

    @property
    def owner_id(self) -> str | None:
        """The user gatewayctl issued this key to, or None. The marker alone is not trusted: it is
        metadata, and a key's holder could once write any metadata on a key it minted. A key counts
        as issued to a user only when the marker names the user LiteLLM itself binds the key to
        (only an admin can set another user's user_id). Which of a user's keys is *the* key is
        decided by the key store's hash tag (plan._primary_key)."""
        uid = self.metadata.get("gitops_user_id")
        return uid if self.managed and uid and uid == self.user_id else None


@dataclass(frozen=True)
class LiveMembership:
    """One user's membership of one tier team. `custom` is True when the membership has its own
    budget row (a per-member override, a budget exception or a carried-over spend) instead of the
    tier's shared default row; its limits are then the fields below."""

    user_id: str
    team_id: str
    spend: Decimal  # this budget window (month); not part of the digest
    custom: bool
    max_budget: Decimal | None = None
    rpm_limit: int | None = None
    budget_duration: str | None = None
    temp_budget_increase: Decimal | None = None
    temp_budget_expiry: str | None = None  # ISO 8601, UTC
    budget_reset_at: str | None = None  # end of this row's budget window (ISO 8601, UTC); not compared

    def active_increase(self, now: dt.datetime) -> Decimal:
        """The temporary budget increase LiteLLM adds at `now` (it compares now < expiry itself)."""
        none = Decimal("0.00")
        if not self.custom or not self.temp_budget_increase or not self.temp_budget_expiry:
            return none
        return self.temp_budget_increase if now < dt.datetime.fromisoformat(self.temp_budget_expiry) else none

    def limits(self) -> dict:
        """The per-member budget row as gatewayctl compares it (money as strings of cents)."""
        if not self.custom:
            return {}
        return {"max_budget": money(self.max_budget), "rpm_limit": self.rpm_limit,
                "temp_budget_increase": money(self.temp_budget_increase),
                "temp_budget_expiry": self.temp_budget_expiry if self.temp_budget_increase is not None else None}


@dataclass
class LiveState:
    teams: dict[str, LiveTeam] = field(default_factory=dict)
    users: dict[str, LiveUser] = field(default_factory=dict)
    keys: tuple[LiveKey, ...] = ()  # assigning a new sequence re-indexes it (a tuple: no change in place)
    secrets: dict[str, str | None] = field(default_factory=dict)  # user id -> key hash tag
    memberships: dict[str, dict[str, LiveMembership]] = field(default_factory=dict)  # team id -> user id -> row
    # user id -> hash of the key in its overlap window after a scheduled rotation (reconciler.plan.rotation)
    retiring: dict[str, str] = field(default_factory=dict)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "keys":
            # The keys each user was issued, indexed once per key list: a plan asks once per user, and a
            # scan per call would make planning quadratic in the number of users.
            value = tuple(value)
            index: dict[str, list[LiveKey]] = {}
            for k in value:
                if k.owner_id:
                    index.setdefault(k.owner_id, []).append(k)
            super().__setattr__("_keys_by_user", index)
        super().__setattr__(name, value)

    def managed_keys(self, user_id: str) -> list[LiveKey]:
        """The keys gatewayctl issued to one user (see LiveKey.owner_id)."""
        return list(self._keys_by_user.get(user_id, ()))

    def membership(self, team_id: str, user_id: str) -> LiveMembership | None:
        return self.memberships.get(team_id, {}).get(user_id)

    def digest(self) -> str:
        """A hash of everything the reconciler owns or reads, excluding spend and timestamps."""
        body = {
            "teams": sorted([t.__dict__ for t in self.teams.values()], key=lambda t: t["team_id"]),
            "users": sorted([u.__dict__ for u in self.users.values()], key=lambda u: u["user_id"]),
            "keys": sorted([k.__dict__ for k in self.keys], key=lambda k: k["token"]),
            "secrets": self.secrets,
            "member_budgets": {t: {u: m.limits() for u, m in sorted(ms.items()) if m.custom}
                               for t, ms in sorted(self.memberships.items())},
            "retiring": self.retiring,
        }
        return json_digest(body)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def _utc_iso(value: Any) -> str | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat(timespec="seconds")


def read_memberships(client: AdminClient, team_id: str) -> dict[str, LiveMembership]:
    """Every membership of one team, with its spend and budget row (one /team/info call)."""
    info = client.get("/team/info", team_id=team_id, key_limit=1)
    out = {}
    for m in info.get("team_memberships") or []:
        row = m.get("litellm_budget_table") or {}
        custom = m.get("budget_source") == "custom" or (
            bool(m.get("budget_id")) and m.get("budget_source") not in ("team_default", "none"))
        out[m["user_id"]] = LiveMembership(
            user_id=m["user_id"], team_id=team_id, spend=Decimal(str(m.get("spend") or 0)), custom=custom,
            max_budget=_dec(row.get("max_budget")) if custom else None,
            rpm_limit=row.get("rpm_limit") if custom else None,
            budget_duration=row.get("budget_duration") if custom else None,
            temp_budget_increase=_dec(row.get("temp_budget_increase")) if custom else None,
            temp_budget_expiry=_utc_iso(row.get("temp_budget_expiry")) if custom else None,
            budget_reset_at=_utc_iso(row.get("budget_reset_at")) if custom else None)
    return out


def _read_teams(client: AdminClient, state: LiveState) -> None:
    """Every team and its member budget row: one /budget/list call, one /v2/team/list page per 100 teams."""
    budgets = {b["budget_id"]: b for b in client.get("/budget/list") or []}
    for t in client.pages("/v2/team/list", "teams", size_param="page_size"):
        budget = budgets.get((t.get("metadata") or {}).get("team_member_budget_id") or "", {})
        # The member limits live in the team's member budget row, under the row's own column names.
        row = {name: budget.get(column) for name, column in MEMBER_BUDGET_COLUMNS.items()}
        row["team_member_budget"] = _dec(row["team_member_budget"])
        fields = {name: row[name] if name in row else t.get(name) for name in mapping.litellm_names(Tier)}
        state.teams[t["team_id"]] = LiveTeam(
            team_id=t["team_id"], fields=fields, managed=is_managed(t),
            member_budget_reset_at=_utc_iso(budget.get("budget_reset_at")))


def _tier_teams(state: LiveState) -> list[str]:
    return [team_id for team_id, team in state.teams.items() if team.managed and shards.is_tier_team(team_id)]


def _live_user(u: dict) -> LiveUser:
    return LiveUser(user_id=u["user_id"], fields={name: u.get(name) for name in mapping.litellm_names(User)},
                    teams=tuple(sorted(u.get("teams") or ())), metadata=u.get("metadata") or {}, managed=is_managed(u))


def live_key(k: dict) -> LiveKey:
    return LiveKey(
        token=k["token"], alias=k.get("key_alias"), user_id=k.get("user_id"), team_id=k.get("team_id"),
        models=tuple(k.get("models") or ()), blocked=bool(k.get("blocked")),
        metadata=k.get("metadata") or {}, managed=is_managed(k), expires=k.get("expires"),
        allowed_routes=None if k.get("allowed_routes") is None else tuple(k["allowed_routes"]),
        created_at=k.get("created_at"))


def read_live(client: AdminClient, key_store=None, *, services: tuple[str, ...] = ()) -> LiveState:
    """`services`: ids of service accounts (the plan-viewer) whose secrets live outside the user prefix."""
    state = LiveState()
    _read_teams(client, state)
    for team_id in _tier_teams(state):
        state.memberships[team_id] = read_memberships(client, team_id)
    # /user/list orders by created_at alone by default: users created in the same millisecond (apply
    # runs in parallel) swap places between OFFSET pages, so one is listed twice and another never.
    for u in client.pages("/user/list", "users", size_param="page_size", sort_by="user_id", sort_order="asc"):
        state.users[u["user_id"]] = _live_user(u)
    state.keys = [live_key(k) for k in client.pages("/key/list", "keys", size_param="size",
                                                     return_full_object="true")]
    if key_store is not None:
        state.secrets = key_store.inventory(services)
        state.retiring = dict(getattr(key_store, "retiring", {}))  # filled by the same listing
    return state


USER_IDS_PER_CALL = 100  # /user/list's largest page


def exact_user_ids(user_ids: list[str]) -> str:
    """/user/list's `user_ids` for exactly these users. LiteLLM 1.108.7 reads a single id as a
    case-insensitive substring ("contains": `al` lists `alan` too), two or more as an exact list
    ("in"): a lone id is sent twice. Callers still match the rows exactly."""
    return ",".join(user_ids if len(user_ids) > 1 else list(user_ids) * 2)


def read_users(client: AdminClient, user_ids: Iterable[str]) -> dict[str, LiveUser]:
    """The LiteLLM rows of exactly these users (those that exist): /user/list?user_ids=, 100 per call."""
    wanted, out = sorted(user_ids), {}
    for i in range(0, len(wanted), USER_IDS_PER_CALL):
        batch = wanted[i:i + USER_IDS_PER_CALL]
        for u in client.pages("/user/list", "users", size_param="page_size", page_size=USER_IDS_PER_CALL,
                              user_ids=exact_user_ids(batch), sort_by="user_id", sort_order="asc"):
            if u["user_id"] in batch:
                out[u["user_id"]] = _live_user(u)
    return out


def read_user_keys(client: AdminClient, user_id: str) -> list[LiveKey]:
    """One user's keys: /key/list?user_id=, rows matched exactly."""
    return [live_key(k) for k in client.pages("/key/list", "keys", size_param="size", user_id=user_id,
                                               return_full_object="true") if k.get("user_id") == user_id]


def read_live_scoped(client: AdminClient, key_store, user_ids: set[str] | frozenset[str], *,
                     services: tuple[str, ...] = ()) -> LiveState:
    """What read_live reads, for `user_ids` (and `services`) only: a plan scoped to the users a change
    touched (reconciler/plan/scope.py). For those users it holds exactly what read_live would hold.

    Teams and budgets are read in full (a few rows). Users: /user/list?user_ids=, 100 per call.
    Keys, memberships and key secrets only for the users that exist in LiteLLM: apply creates a
    user's row first, then its tier membership, then its secret, then its key (reconciler/apply/executor.py:
    the before-membership phase holds USER_NEW, KEY_CREATE writes the secret and then the key), so a
    user without a row has none of these that gatewayctl made. Memberships: one /team/info per tier
    team those users are in. Keys: one /key/list?user_id= per such user."""
    state = LiveState()
    _read_teams(client, state)
    state.users = read_users(client, set(user_ids) | set(services))
    existing = sorted(state.users)
    tier_teams = set(_tier_teams(state))
    for team_id in sorted({t for uid in existing for t in state.users[uid].teams} & tier_teams):
        state.memberships[team_id] = read_memberships(client, team_id)
    state.keys = [k for uid in existing for k in read_user_keys(client, uid)]
    if key_store is not None:
        state.secrets = key_store.inventory_of([u for u in existing if u not in services], services)
        state.retiring = dict(getattr(key_store, "retiring", {}))  # filled by the same listing
    return state
