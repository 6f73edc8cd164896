"""The live state: what LiteLLM (and the key store) hold now, read with the fewest calls.

Teams: one /v2/team/list page per 100 teams. Tier budgets: one /budget/list call.
Users: /user/list, 100 per call. Keys: /key/list with full objects, 100 per call.
Key secrets: one key-store listing (Secrets Manager ListSecrets, 100 per call).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from reconciler.client import AdminClient
from reconciler.policy import MANAGED_BY


def is_managed(obj: dict) -> bool:
    return (obj.get("metadata") or {}).get("managed_by") == MANAGED_BY


@dataclass(frozen=True)
class LiveTeam:
    team_id: str
    alias: str | None
    models: tuple[str, ...]
    member_budget: Decimal | None
    member_rpm: int | None
    member_budget_duration: str | None
    managed: bool


@dataclass(frozen=True)
class LiveUser:
    user_id: str
    email: str | None
    alias: str | None
    models: tuple[str, ...]
    teams: tuple[str, ...]
    metadata: dict
    managed: bool
    role: str | None = None


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


@dataclass
class LiveState:
    teams: dict[str, LiveTeam] = field(default_factory=dict)
    users: dict[str, LiveUser] = field(default_factory=dict)
    keys: list[LiveKey] = field(default_factory=list)
    secrets: dict[str, str | None] = field(default_factory=dict)  # user id -> key hash tag
    # user id -> hash of the key in its overlap window after a scheduled rotation (reconciler.rotation)
    retiring: dict[str, str] = field(default_factory=dict)
    _keys_by_user: dict[str, list[LiveKey]] | None = field(default=None, repr=False, compare=False)
    _indexed_count: int = field(default=-1, repr=False, compare=False)

    def managed_keys(self, user_id: str) -> list[LiveKey]:
        """The keys gatewayctl issued to one user (see LiveKey.owner_id). Indexed on first use: a plan
        asks once per user, and a scan per call would make planning quadratic in the number of users."""
        if self._keys_by_user is None or self._indexed_count != len(self.keys):
            index: dict[str, list[LiveKey]] = {}
            for k in self.keys:
                uid = k.owner_id
                if uid:
                    index.setdefault(uid, []).append(k)
            self._keys_by_user, self._indexed_count = index, len(self.keys)
        return list(self._keys_by_user.get(user_id, ()))

    def digest(self) -> str:
        """A hash of everything the reconciler owns or reads, excluding spend and timestamps."""
        body = {
            "teams": sorted([t.__dict__ for t in self.teams.values()], key=lambda t: t["team_id"]),
            "users": sorted([u.__dict__ for u in self.users.values()], key=lambda u: u["user_id"]),
            "keys": sorted([k.__dict__ for k in self.keys], key=lambda k: k["token"]),
            "secrets": self.secrets,
            "retiring": self.retiring,
        }
        return "sha256:" + hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def read_live(client: AdminClient, key_store=None, *, services: tuple[str, ...] = ()) -> LiveState:
    """`services`: ids of service accounts (the plan-viewer) whose secrets live outside the user prefix."""
    state = LiveState()
    budgets = {b["budget_id"]: b for b in client.get("/budget/list") or []}
    for t in client.pages("/v2/team/list", "teams", size_param="page_size"):
        budget = budgets.get((t.get("metadata") or {}).get("team_member_budget_id") or "", {})
        state.teams[t["team_id"]] = LiveTeam(
            team_id=t["team_id"], alias=t.get("team_alias"), models=tuple(t.get("models") or ()),
            member_budget=_dec(budget.get("max_budget")), member_rpm=budget.get("rpm_limit"),
            member_budget_duration=budget.get("budget_duration"), managed=is_managed(t))
    for u in client.pages("/user/list", "users", size_param="page_size"):
        state.users[u["user_id"]] = LiveUser(
            user_id=u["user_id"], email=u.get("user_email"), alias=u.get("user_alias"),
            models=tuple(u.get("models") or ()), teams=tuple(sorted(u.get("teams") or ())),
            metadata=u.get("metadata") or {}, managed=is_managed(u), role=u.get("user_role"))
    for k in client.pages("/key/list", "keys", size_param="size", return_full_object="true"):
        state.keys.append(LiveKey(
            token=k["token"], alias=k.get("key_alias"), user_id=k.get("user_id"), team_id=k.get("team_id"),
            models=tuple(k.get("models") or ()), blocked=bool(k.get("blocked")),
            metadata=k.get("metadata") or {}, managed=is_managed(k), expires=k.get("expires"),
            allowed_routes=None if k.get("allowed_routes") is None else tuple(k["allowed_routes"]),
            created_at=k.get("created_at")))
    if key_store is not None:
        state.secrets = key_store.inventory(services)
        state.retiring = dict(getattr(key_store, "retiring", {}))  # filled by the same listing
    return state
