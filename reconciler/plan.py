"""Diff desired state against live state into an ordered list of actions.

Each action is a user-facing change (create, update, move tier, rotate, revoke) made of
steps: single admin-API calls, each computed from the live state so that re-planning after
a crash yields exactly the steps still missing. Nothing here performs I/O.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from reconciler import rotation
from reconciler.live import LiveKey, LiveState
from reconciler.policy import MANAGED_BY, TEAM_PREFIX, DesiredState, Tier, User

FORMAT_VERSION = 1
BUDGET_DURATION = "1mo"  # calendar month, reset at midnight on the 1st in litellm_settings.timezone
EXPIRY_TZ = ZoneInfo("Asia/Kolkata")  # same clock as budget resets
EXPIRY_TOLERANCE_S = 300
USER_MODELS = ["no-default-models"]
VIEWER_ID = "gatewayctl-plan-viewer"  # reserved user id (validate rejects users/ ids starting with gatewayctl-)
VIEWER_ROLE = "proxy_admin_viewer"
SERVICE_MARKER = "gitops_service"  # a key without a team gets no model at all
KEY_MODELS = ["all-team-models"]  # a key follows its team's (tier's) models, also across tier moves


@dataclass
class Step:
    op: str
    args: dict[str, Any]


@dataclass
class Action:
    kind: str  # create | update | move | rotate | retire | revoke | create-tier | update-tier
    target: str
    reason: str = ""
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    key_hashes: list[str] = field(default_factory=list)


@dataclass
class SafetyLimits:
    max_revocations: int = 10
    max_revocation_fraction: float = 0.25
    allow_mass_revocation: bool = False


@dataclass
class Plan:
    actions: list[Action]
    warnings: list[str]
    desired_digest: str
    live_digest: str
    git_commit: str
    managed_key_count: int
    revocation_count: int
    refused: str | None = None
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    @property
    def has_changes(self) -> bool:
        return bool(self.actions)

    def to_json(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "created_at": self.created_at,
            "git_commit": self.git_commit,
            "desired_digest": self.desired_digest,
            "live_digest": self.live_digest,
            "managed_key_count": self.managed_key_count,
            "revocation_count": self.revocation_count,
            "refused": self.refused,
            "summary": summary(self.actions),
            "warnings": self.warnings,
            "actions": [asdict(a) for a in self.actions],
        }

    @classmethod
    def from_json(cls, data: dict) -> Plan:
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported plan format_version {data.get('format_version')!r}")
        actions = [Action(kind=a["kind"], target=a["target"], reason=a.get("reason", ""),
                          changes=[tuple(c) for c in a["changes"]],
                          steps=[Step(s["op"], s["args"]) for s in a["steps"]],
                          key_hashes=a.get("key_hashes", [])) for a in data["actions"]]
        return cls(actions=actions, warnings=data["warnings"], desired_digest=data["desired_digest"],
                   live_digest=data["live_digest"], git_commit=data["git_commit"],
                   managed_key_count=data["managed_key_count"], revocation_count=data["revocation_count"],
                   refused=data.get("refused"), created_at=data["created_at"])


def summary(actions: list[Action]) -> dict[str, int]:
    out: dict[str, int] = {}
    for a in actions:
        out[a.kind] = out.get(a.kind, 0) + 1
    return out


def desired_digest(desired: DesiredState) -> str:
    body = json.dumps(asdict(desired), sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest()


def marker(user_id: str | None, commit: str) -> dict[str, str]:
    out = {"managed_by": MANAGED_BY, "git_commit": commit}
    if user_id is not None:
        out["gitops_user_id"] = user_id
    return out


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _tier_actions(desired: DesiredState, live: LiveState, commit: str, warnings: list[str]) -> list[Action]:
    actions = []
    for tier in desired.tiers.values():
        want = {"team_alias": tier.display_name, "models": sorted(tier.models),
                "team_member_budget": _money(tier.monthly_budget_usd),
                "team_member_rpm_limit": tier.rpm_limit, "team_member_budget_duration": BUDGET_DURATION}
        body = {"team_id": tier.team_id, **want, "team_member_budget": float(tier.monthly_budget_usd)}
        team = live.teams.get(tier.team_id)
        if team is None:
            actions.append(Action("create-tier", f"tier:{tier.key}", f"team {tier.team_id}",
                                  changes=[(k, None, v) for k, v in want.items()],
                                  steps=[Step("team_new", {**body, "metadata": marker(None, commit)})]))
            continue
        if not team.managed:
            warnings.append(f"team {tier.team_id} exists but is not managed by gatewayctl; tier "
                            f"{tier.key!r} and its users are left alone")
            continue
        have = {"team_alias": team.alias, "models": sorted(team.models),
                "team_member_budget": _money(team.member_budget), "team_member_rpm_limit": team.member_rpm,
                "team_member_budget_duration": team.member_budget_duration}
        changes = [(k, have[k], v) for k, v in want.items() if have[k] != v]
        if changes:
            update = {"team_id": tier.team_id}
            for k, _, _ in changes:
                update[k] = body[k]
            actions.append(Action("update-tier", f"tier:{tier.key}", f"team {tier.team_id}",
                                  changes=changes, steps=[Step("team_update", update)]))
    return actions


def key_expiry(user: User) -> str | None:
    """When LiteLLM itself must stop the key: the end of `expires` in Asia/Kolkata, as UTC ISO 8601.
    So access ends on time even if no reconcile runs that night."""
    if user.expires is None:
        return None
    return rotation.end_of_day_utc(user.expires)


def _same_instant(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    ta = dt.datetime.fromisoformat(a.replace("Z", "+00:00"))
    tb = dt.datetime.fromisoformat(b.replace("Z", "+00:00"))
    return abs((ta - tb).total_seconds()) <= EXPIRY_TOLERANCE_S


@dataclass(frozen=True)
class KeySpec:
    """The one managed key an identity (a user, or the plan-viewer service account) must hold."""

    owner_id: str
    alias: str
    team_id: str | None
    models: tuple[str, ...]
    expires_at: str | None
    metadata: dict
    issued_on: dt.date | None = None  # the plan's date, recorded in new keys: their age for rotation

    def create_step(self) -> Step:
        meta = self.metadata if self.issued_on is None else {**self.metadata,
                                                              rotation.ISSUED_ON: self.issued_on.isoformat()}
        args = {"user_id": self.owner_id, "key_alias": self.alias, "models": list(self.models),
                "metadata": meta, "expires_at": self.expires_at}
        if self.team_id:
            args["team_id"] = self.team_id
        return Step("key_create", args)


def _primary_key(spec: KeySpec, keys: list[LiveKey], secret_hash: str | None) -> LiveKey | None:
    for k in keys:
        if k.alias == spec.alias:
            return k
    for k in keys:
        if k.token == secret_hash:
            return k
    return keys[0] if keys else None


class KeyDelta(NamedTuple):
    steps: list[Step]
    changes: list[tuple[str, Any, Any]]
    rotated: bool  # a new key is minted
    retired: bool  # a retiring key whose overlap window ended is deleted


def _retiring_steps(spec: KeySpec, inside: list[LiveKey],
                    past: list[LiveKey]) -> tuple[list[Step], list[tuple[str, Any, Any]]]:
    """Keys in their overlap window follow the user's tier; keys past it are deleted."""
    steps: list[Step] = []
    changes: list[tuple[str, Any, Any]] = []
    for k in inside:
        if spec.team_id and k.team_id != spec.team_id:
            steps.append(Step("key_update", {"key": k.token, "team_id": spec.team_id}))
    if past:
        steps.append(Step("key_delete", {"keys": [k.token for k in past]}))
        changes += [("retiring key", k.token[:12] + "…", f"deleted (overlap window ended {rotation.retire_after(k)})")
                    for k in past]
    return steps, changes


def _key_steps(spec: KeySpec, keys: list[LiveKey], secret_hash: str | None, rotate: bool,
               warnings: list[str], *, today: dt.date | None = None,
               policy: rotation.RotationPolicy | None = None) -> KeyDelta:
    """Steps that leave exactly one healthy managed key whose raw value is in the key store, plus
    the previous key while its overlap window after a scheduled rotation lasts."""
    inside, past, keys = rotation.split_retiring(keys, secret_hash, today)
    retire_steps, retire_changes = _retiring_steps(spec, inside, past)
    primary = _primary_key(spec, keys, secret_hash)
    if primary is None:
        return KeyDelta([*retire_steps, spec.create_step()], [("key", None, spec.alias), *retire_changes],
                        False, bool(past))
    steps: list[Step] = []
    changes: list[tuple[str, Any, Any]] = []
    if primary.blocked:
        warnings.append(f"key of {spec.owner_id} ({primary.token[:12]}…) is blocked outside git (emergency "
                        "revoke?); gatewayctl does not unblock it: remove the block by hand or offboard")
    due = None if rotate or secret_hash != primary.token else rotation.due_reason(primary, policy, today)
    fix: dict[str, Any] = {}
    if spec.team_id and primary.team_id != spec.team_id:
        fix["team_id"] = spec.team_id
    if tuple(primary.models) != spec.models:
        fix["models"] = list(spec.models)
    if not _same_instant(primary.expires, spec.expires_at):
        fix["expires_at"] = spec.expires_at
    if rotation.RETIRE_AFTER in primary.metadata and not due:  # a retirement that never finished
        fix["metadata"] = {k: v for k, v in primary.metadata.items() if k != rotation.RETIRE_AFTER}
    if fix:
        steps.append(Step("key_update", {"key": primary.token, **fix}))
        old = {"models": list(primary.models), "expires_at": primary.expires}
        changes += [(f"key.{k}", old[k], v) for k, v in fix.items() if k in old]
        if "metadata" in fix:
            changes.append((f"key.{rotation.RETIRE_AFTER}", primary.metadata[rotation.RETIRE_AFTER], None))
    rotated = rotate or due is not None or secret_hash != primary.token
    if due and policy is not None and today is not None:
        # Scheduled: the old key keeps working through the window (LiteLLM's own expiry ends it).
        until = rotation.window_end(policy, today)
        ends = rotation.end_of_day_utc(until)
        if spec.expires_at is not None and spec.expires_at < ends:
            ends = spec.expires_at
        changes.append(("key", primary.token[:12] + "…", f"new key ({due}); the old key works until {until}"))
        steps.append(Step("key_update", {"key": primary.token, "key_alias": spec.alias + rotation.RETIRING_SUFFIX,
                                         "metadata": {**primary.metadata, rotation.RETIRE_AFTER: until.isoformat()},
                                         "expires_at": ends}))
        steps.append(spec.create_step())
    elif rotated:
        reason = "rotation requested" if rotate else (
            "key secret missing from the key store" if secret_hash is None else
            "key secret does not match the live key")
        changes.append(("key", primary.token[:12] + "…", f"new key ({reason})"))
        # Aliases are unique: retire the old alias, mint the new key (secret first), then delete the old key.
        steps.append(Step("key_update", {"key": primary.token, "key_alias": spec.alias + rotation.RETIRING_SUFFIX}))
        steps.append(spec.create_step())
        steps.append(Step("key_delete", {"keys": [primary.token]}))
    elif primary.alias != spec.alias:
        steps.append(Step("key_update", {"key": primary.token, "key_alias": spec.alias}))
        changes.append(("key_alias", primary.alias, spec.alias))
    extra = [k.token for k in keys if k.token != primary.token]
    if extra:
        steps.append(Step("key_delete", {"keys": extra}))
        changes.append(("extra keys", len(extra), 0))
    return KeyDelta([*steps, *retire_steps], [*changes, *retire_changes], rotated, bool(past))


def _user_action(user: User, tier: Tier, live: LiveState, commit: str, rotate: bool, adopt: bool,
                 warnings: list[str], today: dt.date | None = None) -> Action | None:
    lu = live.users.get(user.id)
    tier_teams = {t for t, team in live.teams.items() if team.managed and t.startswith(TEAM_PREFIX)}
    want_user = {"user_email": user.email, "user_alias": user.name, "models": USER_MODELS,
                 "owner": user.owner, "cost_center": user.cost_center, "tier": user.tier}
    meta = {**marker(user.id, commit), "owner": user.owner, "cost_center": user.cost_center, "tier": user.tier}
    user_body = {"user_id": user.id, "user_email": user.email, "user_alias": user.name, "models": USER_MODELS,
                 "metadata": meta}
    steps: list[Step] = []
    kind = "update"

    if lu is None:
        kind = "create"
        changes = [(k, None, v) for k, v in want_user.items()]
        steps.append(Step("user_new", {**user_body, "auto_create_key": False}))
        memberships: set[str] = set()
    else:
        if not lu.managed and not adopt:
            warnings.append(f"user {user.id} exists in LiteLLM but is not managed by gatewayctl; left alone "
                            "(take it over with `gatewayctl apply --adopt`)")
            return None
        have_user = {"user_email": lu.email, "user_alias": lu.alias, "models": list(lu.models),
                     "owner": lu.metadata.get("owner"), "cost_center": lu.metadata.get("cost_center"),
                     "tier": lu.metadata.get("tier")}
        changes = [(k, have_user[k], v) for k, v in want_user.items() if have_user[k] != v]
        if not lu.managed:
            kind = "adopt"
            changes.insert(0, ("managed_by", None, MANAGED_BY))
        if changes:
            steps.append(Step("user_update", user_body))
        memberships = set(lu.teams) & tier_teams

    old_tiers = sorted(memberships - {tier.team_id})
    if tier.team_id not in memberships:
        steps.append(Step("member_add", {"team_id": tier.team_id, "user_id": user.id}))
    if old_tiers and lu is not None:
        kind = "move"
        changes = [c for c in changes if c[0] != "tier"]
        changes.insert(0, ("tier", ", ".join(t.removeprefix(TEAM_PREFIX) for t in old_tiers), user.tier))

    keys = live.managed_keys(user.id)
    spec = KeySpec(user.id, user.key_alias, tier.team_id, tuple(KEY_MODELS), key_expiry(user), marker(user.id, commit),
                   issued_on=today)
    policy = rotation.RotationPolicy(tier.key_max_age_days, tier.key_rotation_overlap_days)
    delta = _key_steps(spec, keys, live.secrets.get(user.id), rotate, warnings, today=today, policy=policy)
    only_retirement = delta.retired and not steps and all(s.op == "key_delete" for s in delta.steps)
    steps += delta.steps
    if lu is not None:
        changes += delta.changes
    if delta.rotated and kind == "update":
        kind = "rotate"
    elif only_retirement and kind == "update":
        kind = "retire"
    for team_id in old_tiers:
        steps.append(Step("member_delete", {"team_id": team_id, "user_id": user.id}))

    if not steps:
        return None
    return Action(kind, f"user:{user.id}", f"tier {user.tier}", changes=changes, steps=steps,
                  key_hashes=[k.token for k in keys])


def _viewer_action(live: LiveState, commit: str, rotate: bool, warnings: list[str]) -> Action | None:
    """The read-only `proxy_admin_viewer` identity whose key PR plans use instead of the master key.
    Its key lives in the key store like a user's, under the id `gatewayctl-plan-viewer`."""
    lu = live.users.get(VIEWER_ID)
    meta = {**marker(None, commit), SERVICE_MARKER: "plan-viewer"}
    steps: list[Step] = []
    if lu is None:
        steps.append(Step("user_new", {"user_id": VIEWER_ID, "user_role": VIEWER_ROLE, "models": USER_MODELS,
                                       "auto_create_key": False, "metadata": meta}))
    elif not lu.managed:
        warnings.append(f"user {VIEWER_ID} exists but is not managed by gatewayctl; plan-viewer key not managed")
        return None
    elif lu.role != VIEWER_ROLE:
        steps.append(Step("user_update", {"user_id": VIEWER_ID, "user_role": VIEWER_ROLE}))
    keys = [k for k in live.keys if k.managed and k.metadata.get(SERVICE_MARKER) == "plan-viewer"]
    spec = KeySpec(VIEWER_ID, VIEWER_ID, None, (), None, meta)
    delta = _key_steps(spec, keys, live.secrets.get(VIEWER_ID), rotate, warnings)
    steps += delta.steps
    changes = delta.changes
    if not steps:
        return None
    kind = "create" if lu is None else ("rotate" if delta.rotated else "update")
    return Action(kind, f"service:{VIEWER_ID}", f"{VIEWER_ROLE} key for PR plans", changes=changes, steps=steps,
                  key_hashes=[k.token for k in keys])


def build_plan(desired: DesiredState, live: LiveState, *, today: dt.date, commit: str,
               rotate: frozenset[str] = frozenset(), limits: SafetyLimits | None = None,
               adopt: bool = False, plan_viewer: bool = False) -> Plan:
    """`plan_viewer` also manages the read-only key PR plans use; without it that key is ignored."""
    limits = limits or SafetyLimits()
    warnings: list[str] = []
    actions = _tier_actions(desired, live, commit, warnings)
    if plan_viewer:
        viewer = _viewer_action(live, commit, VIEWER_ID in rotate, warnings)
        if viewer:
            actions.append(viewer)
    tiers_ok = {k for k, t in desired.tiers.items()
                if (live.teams.get(t.team_id) is None or live.teams[t.team_id].managed)}

    active = {uid: u for uid, u in desired.users.items() if not u.expired(today)}
    for uid in sorted(active):
        user = active[uid]
        if user.tier not in tiers_ok:
            continue
        action = _user_action(user, desired.tiers[user.tier], live, commit, uid in rotate, adopt, warnings, today)
        if action:
            actions.append(action)

    managed_user_ids = sorted({k.metadata.get("gitops_user_id") for k in live.keys if k.managed} - {None})
    revocations = 0
    for uid in managed_user_ids:
        if uid in active:
            continue
        keys = live.managed_keys(uid)
        if not keys:
            continue
        user = desired.users.get(uid)
        reason = f"expired on {user.expires}" if user else "no longer in users/"
        revocations += len(keys)
        actions.append(Action("revoke", f"user:{uid}", reason,
                              changes=[("key", k.token[:12] + "…", None) for k in keys],
                              steps=[Step("key_delete", {"keys": [k.token for k in keys]})],
                              key_hashes=[k.token for k in keys]))

    unmanaged_keys = [k for k in live.keys if not k.managed]
    if unmanaged_keys:
        names = sorted((k.alias or k.token[:12] + "…") for k in unmanaged_keys)[:20]
        warnings.append(f"{len(unmanaged_keys)} key(s) in LiteLLM are not managed by gatewayctl and are "
                        "left alone: " + ", ".join(names))
    managed_keys = sum(1 for k in live.keys if k.managed)

    refused = None
    if revocations and not limits.allow_mass_revocation:
        fraction_cap = max(3, int(limits.max_revocation_fraction * managed_keys))
        limit = min(limits.max_revocations, fraction_cap)
        if revocations > limit:
            refused = (f"refusing to revoke {revocations} of {managed_keys} managed keys in one run (limit "
                       f"{limit}: at most {limits.max_revocations} keys and "
                       f"{limits.max_revocation_fraction:.0%} of managed keys, minimum 3); "
                       "re-run with --allow-mass-revocation if this is intended")

    # Tiers first (users need their team), then creates/updates/moves, then revocations.
    order = {"create-tier": 0, "update-tier": 1, "create": 2, "adopt": 2, "move": 3, "update": 3, "rotate": 3,
             "retire": 3, "revoke": 4}
    actions.sort(key=lambda a: (order[a.kind], a.target))
    return Plan(actions=actions, warnings=warnings, desired_digest=desired_digest(desired),
                live_digest=live.digest(), git_commit=commit, managed_key_count=managed_keys,
                revocation_count=revocations, refused=refused)
