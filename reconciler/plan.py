"""Diff desired state against live state into an ordered list of actions.

Each action is a user-facing change (create, update, move tier, rotate, revoke) made of
steps: single admin-API calls, each computed from the live state so that re-planning after
a crash yields exactly the steps still missing. Nothing here performs I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, replace
from typing import Any, NamedTuple

from reconciler import __version__, commitment, mapping, member_budget, rotation, shards
from reconciler.digest import dataclass_fields, json_digest
from reconciler.errors import GatewayctlError
from reconciler.limits import FLAGS, KINDS, SafetyLimits, refusal
from reconciler.live import LiveKey, LiveState
from reconciler.mapping import USER_MODELS, USER_ROLE
from reconciler.policy import MANAGED_BY, DesiredState, Tier, User, end_of_day_utc
from reconciler.steps import Op

__all__ = ["USER_MODELS", "USER_ROLE", "Action", "Plan", "SafetyLimits", "Step", "build_plan", "key_expiry"]

FORMAT_VERSION = 2
EXPIRY_TOLERANCE_S = 300
# Users' keys may call the model APIs and nothing else: every admin route answers 403, whatever the
# user's role (also after a promotion to proxy_admin). Only a proxy admin can set or change this.
USER_KEY_ROUTES = ("llm_api_routes",)
VIEWER_ID = "gatewayctl-plan-viewer"  # reserved user id (validate rejects users/ ids starting with gatewayctl-)
VIEWER_ROLE = "proxy_admin_viewer"
SERVICE_MARKER = "gitops_service"  # a key without a team gets no model at all
# What `gatewayctl plan` reads (/team/info: each tier's member budget rows), and /key/info for auditors;
# nothing else (no spend logs, no writes).
VIEWER_KEY_ROUTES = ("/budget/list", "/key/info", "/key/list", "/team/info", "/user/list", "/v2/team/list")
KEY_MODELS = ["all-team-models"]  # a key follows its team's (tier's) models, also across tier moves


# Every kind of action: its place in a plan and its symbol in plan output. Tiers come first (users
# need their team), then creates, updates, moves and rotations, then revocations and prunes; a report
# (out-of-band, settled by a person) is never applied.
ACTION_KINDS: dict[str, tuple[int, str]] = {
    "create-tier": (0, "+"), "update-tier": (1, "~"), "create": (2, "+"), "adopt": (2, "&"), "move": (3, ">"),
    "update": (3, "~"), "end-carry": (3, "~"), "rotate": (3, "@"), "retire": (3, "-"), "revoke": (4, "-"),
    "prune": (5, "x"), "report": (6, "!"),
}


@dataclass
class Step:
    op: Op  # what it calls: reconciler/steps.py
    args: dict[str, Any]


@dataclass
class Action:
    kind: str  # a key of ACTION_KINDS
    target: str
    reason: str = ""
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    key_hashes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # destructive changes by kind (reconciler.limits)

    def __post_init__(self) -> None:
        if self.kind not in ACTION_KINDS:
            raise ValueError(f"unknown action kind {self.kind!r}")


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
    # Access no file grants (reconciler.outofband): drift, but not applied (prunes need --prune-unmanaged).
    out_of_band: list[Action] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # destructive changes in `actions`, by kind
    inputs: dict[str, Any] = field(default_factory=dict)  # what the plan was asked to do (apply checks them)
    overrides: list[str] = field(default_factory=list)  # safety-limit flags in force
    finops: dict | None = None  # what the change costs (reconciler/commitment.py); not part of the digest
    tool_version: str = __version__  # the gatewayctl that made the plan
    # Budget alert thresholds per tier, from policies/tiers.yaml (reconciler/budget_alerts.py reads them there)
    budget_alerts: dict[str, list[int]] | None = None
    # A plan scoped to the users a change touched (reconciler/scope.py: Scope.to_json() plus its note);
    # None: no --changed-since. Not part of the plan digest: apply checks it through `inputs`.
    scope: dict | None = None

    @property
    def has_changes(self) -> bool:
        """Drift: something to apply, or access outside git that someone must settle."""
        return bool(self.actions or self.out_of_band)

    def to_json(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "gatewayctl_version": self.tool_version,
            "created_at": self.created_at,
            "git_commit": self.git_commit,
            "desired_digest": self.desired_digest,
            "live_digest": self.live_digest,
            "managed_key_count": self.managed_key_count,
            "revocation_count": self.revocation_count,
            "refused": self.refused,
            "summary": summary(self.actions),
            "counts": self.counts,
            "inputs": self.inputs,
            "overrides": self.overrides,
            "warnings": self.warnings,
            "actions": [asdict(a) for a in self.actions],
            "out_of_band": [asdict(a) for a in self.out_of_band],
            "finops": self.finops,
            "budget_alerts": self.budget_alerts,
            "scope": self.scope,
        }

    @classmethod
    def from_json(cls, data: dict) -> Plan:
        if data.get("format_version") != FORMAT_VERSION:
            raise GatewayctlError(f"unsupported plan format_version {data.get('format_version')!r}")
        def actions(items: list[dict]) -> list[Action]:
            return [Action(kind=a["kind"], target=a["target"], reason=a.get("reason", ""),
                           changes=[tuple(c) for c in a["changes"]],
                           steps=[Step(Op(s["op"]), s["args"]) for s in a["steps"]],
                           key_hashes=a.get("key_hashes", []), counts=a.get("counts", {})) for a in items]

        return cls(actions=actions(data["actions"]), warnings=data["warnings"], desired_digest=data["desired_digest"],
                   live_digest=data["live_digest"], git_commit=data["git_commit"],
                   managed_key_count=data["managed_key_count"], revocation_count=data["revocation_count"],
                   refused=data.get("refused"), created_at=data["created_at"],
                   out_of_band=actions(data.get("out_of_band", [])), counts=data.get("counts", {}),
                   inputs=data.get("inputs", {}), overrides=data.get("overrides", []), finops=data.get("finops"),
                   tool_version=data.get("gatewayctl_version", "unknown"),
                   budget_alerts=data.get("budget_alerts"), scope=data.get("scope"))


def summary(actions: list[Action]) -> dict[str, int]:
    out: dict[str, int] = {}
    for a in actions:
        out[a.kind] = out.get(a.kind, 0) + 1
    return out


def desired_digest(desired: DesiredState) -> str:
    return json_digest(desired, default=dataclass_fields)


def marker(user_id: str | None, commit: str) -> dict[str, str]:
    out = {"managed_by": MANAGED_BY, "git_commit": commit}
    if user_id is not None:
        out["gitops_user_id"] = user_id
    return out


def _tier_actions(desired: DesiredState, live: LiveState, commit: str, warnings: list[str]) -> list[Action]:
    """Each team of each tier (reconciler/shards.py) holds the same limits: one action per team."""
    actions = []
    for tier in desired.tiers.values():
        want = mapping.desired(tier)
        for shard, team_id in enumerate(tier.team_ids):
            target = f"tier:{shards.name(tier.key, shard)}"  # tier:coding, tier:coding.1, ...
            body = {"team_id": team_id, **mapping.body(tier)}
            team = live.teams.get(team_id)
            if team is None:
                actions.append(Action("create-tier", target, f"team {team_id}",
                                      changes=[(k, None, v) for k, v in want.items()],
                                      steps=[Step(Op.TEAM_NEW, {**body, "metadata": marker(None, commit)})]))
                continue
            if not team.managed:
                continue  # reported as out-of-band (reconciler.outofband)
            changes = mapping.diff(mapping.live(Tier, team.fields, {}), want)
            if changes:
                update = {"team_id": team_id}
                for k, _, _ in changes:
                    update[k] = body[k]
                actions.append(Action("update-tier", target, f"team {team_id}",
                                      changes=changes, steps=[Step(Op.TEAM_UPDATE, update)]))
    return actions


def tier_teams(live: LiveState) -> set[str]:
    """The managed tier teams LiteLLM holds, every shard of every tier (also of tiers no longer in git)."""
    return {t for t, team in live.teams.items() if team.managed and shards.is_tier_team(t)}


def _move_label(old_teams: list[str], team_id: str, tier: Tier, live: LiveState) -> tuple[str, Any, Any]:
    """The plan line of a move: a tier change, or, between teams of the same tier, a team change
    (`team: tier-coding -> tier-coding.1 (teams: 1 -> 2)`), so a reviewer sees no fake tier change."""
    if all(shards.tier_of(t) == tier.key for t in old_teams):
        live_count = sum(1 for t in live.teams if shards.tier_of(t) == tier.key)
        count = f"teams: {live_count} -> {tier.teams}" if live_count != tier.teams else f"teams: {tier.teams}"
        return ("team", ", ".join(old_teams), f"{team_id} ({count})")
    return ("tier", ", ".join(sorted({shards.tier_of(t) or t for t in old_teams})), tier.key)


def key_expiry(user: User) -> str | None:
    """When LiteLLM itself must stop the key: the end of `expires` in Asia/Kolkata, as UTC ISO 8601.
    So access ends on time even if no reconcile runs that night."""
    return None if user.expires is None else end_of_day_utc(user.expires)


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
    allowed_routes: tuple[str, ...]
    issued_on: dt.date | None = None  # the plan's date, recorded in new keys: their age for rotation

    def create_step(self, retiring: str | None = None) -> Step:
        """`retiring`: the hash of the key that keeps working through an overlap window; the key
        store records it next to the new key's, and only the key with that hash counts as retiring."""
        meta = self.metadata if self.issued_on is None else {**self.metadata,
                                                              rotation.ISSUED_ON: self.issued_on.isoformat()}
        args = {"user_id": self.owner_id, "key_alias": self.alias, "models": list(self.models),
                "metadata": meta, "expires_at": self.expires_at,
                "allowed_routes": list(self.allowed_routes)}
        if self.team_id:
            args["team_id"] = self.team_id
        if retiring:
            args[rotation.RETIRING_HASH_ARG] = retiring
        return Step(Op.KEY_CREATE, args)


def _primary_key(spec: KeySpec, keys: list[LiveKey], secret_hash: str | None) -> LiveKey | None:
    """The key store decides which key is the user's: the one whose hash the secret is tagged with.
    Without such a key (a crash between steps), the one under the user's alias is kept and rotated."""
    for k in keys:
        if k.token == secret_hash:
            return k
    for k in keys:
        if k.alias == spec.alias:
            return k
    return keys[0] if keys else None


class KeyDelta(NamedTuple):
    steps: list[Step]
    changes: list[tuple[str, Any, Any]]
    rotated: bool  # a new key is minted
    retired: int  # retiring keys whose overlap window ended, deleted


def _grant_fix(spec: KeySpec, k: LiveKey) -> dict[str, Any]:
    """What must change on a live key for it to grant exactly what `spec` grants (team, models, routes)."""
    fix: dict[str, Any] = {}
    if spec.team_id and k.team_id != spec.team_id:
        fix["team_id"] = spec.team_id
    if tuple(k.models) != spec.models:
        fix["models"] = list(spec.models)
    if tuple(k.allowed_routes or ()) != spec.allowed_routes:
        fix["allowed_routes"] = list(spec.allowed_routes)
    return fix


def _old(k: LiveKey) -> dict[str, Any]:
    return {"models": list(k.models), "expires_at": k.expires,
            "allowed_routes": None if k.allowed_routes is None else list(k.allowed_routes)}


def _retiring_steps(spec: KeySpec, inside: list[LiveKey],
                    past: list[LiveKey]) -> tuple[list[Step], list[tuple[str, Any, Any]]]:
    """Keys in their overlap window grant what the user's current key grants (their tier, model
    routes only) and keep an expiry; keys past it are deleted."""
    steps: list[Step] = []
    changes: list[tuple[str, Any, Any]] = []
    for k in inside:
        fix = _grant_fix(spec, k)
        # An expiry removed by hand is put back. A later one is not compared: LiteLLM stores "now + 1s"
        # for an end already past, and the first run after the window deletes the key anyway.
        if k.expires is None:
            ends = end_of_day_utc(rotation.retire_after(k))
            fix["expires_at"] = ends if spec.expires_at is None or ends < spec.expires_at else spec.expires_at
        if fix:
            steps.append(Step(Op.KEY_UPDATE, {"key": k.token, **fix}))
            changes += [(f"retiring key.{name}", _old(k)[name], v) for name, v in fix.items() if name != "team_id"]
    if past:
        steps.append(Step(Op.KEY_DELETE, {"keys": [k.token for k in past]}))
        changes += [("retiring key", k.token[:12] + "…", f"deleted (overlap window ended {rotation.retire_after(k)})")
                    for k in past]
    return steps, changes


def _key_steps(spec: KeySpec, keys: list[LiveKey], secret_hash: str | None, rotate: bool, *,
               retiring_hash: str | None = None, today: dt.date | None = None,
               policy: rotation.RotationPolicy | None = None) -> KeyDelta:
    """Steps that leave exactly one healthy managed key whose raw value is in the key store, plus
    the previous key while its overlap window after a scheduled rotation lasts. Both are named by
    the key store: the current key by its hash tag, the retiring one by its retiring-hash tag."""
    inside, past, keys = rotation.split_retiring(keys, secret_hash, retiring_hash, today)
    steps: list[Step] = []
    changes: list[tuple[str, Any, Any]] = []
    if rotate and (inside or past):
        # A requested rotation is for a leaked key, and either key may be the leaked one: the key in its
        # overlap window ends now too, first (the current key is renamed to its alias), and the new key's
        # secret records no retiring key.
        steps.append(Step(Op.KEY_DELETE, {"keys": [k.token for k in inside + past]}))
        changes += [("retiring key", k.token[:12] + "…", "deleted (rotation requested)") for k in inside + past]
        inside, past = [], []
    retire_steps, retire_changes = _retiring_steps(spec, inside, past)
    # A repair keeps the key store's record of a key still in its window.
    keep = inside[0].token if inside else None
    primary = _primary_key(spec, keys, secret_hash)
    if primary is None:
        # With a key in its overlap window, this finishes a rotation a crash cut short after the rename:
        # the rotation job's to finish, not the deploy's.
        return KeyDelta([*steps, *retire_steps, spec.create_step(keep)],
                        [*changes, ("key", None, spec.alias), *retire_changes], bool(inside or steps), len(past))
    due = None if rotate or secret_hash != primary.token else rotation.due_reason(primary, policy, today)
    fix = _grant_fix(spec, primary)
    if not _same_instant(primary.expires, spec.expires_at):
        fix["expires_at"] = spec.expires_at
    if rotation.RETIRE_AFTER in primary.metadata and not due:  # a retirement that never finished
        fix["metadata"] = {k: v for k, v in primary.metadata.items() if k != rotation.RETIRE_AFTER}
    if fix:
        steps.append(Step(Op.KEY_UPDATE, {"key": primary.token, **fix}))
        old = _old(primary)
        changes += [(f"key.{k}", old[k], v) for k, v in fix.items() if k in old]
        if "metadata" in fix:
            changes.append((f"key.{rotation.RETIRE_AFTER}", primary.metadata[rotation.RETIRE_AFTER], None))
    rotated = rotate or due is not None or secret_hash != primary.token
    if due and policy is not None and today is not None:
        # Scheduled: the old key keeps working through the window (LiteLLM's own expiry ends it).
        until = rotation.window_end(policy, today)
        ends = end_of_day_utc(until)
        if spec.expires_at is not None and spec.expires_at < ends:
            ends = spec.expires_at
        changes.append(("key", primary.token[:12] + "…", f"new key ({due}); the old key works until {until}"))
        steps.append(Step(Op.KEY_UPDATE, {"key": primary.token, "key_alias": spec.alias + rotation.RETIRING_SUFFIX,
                                         "metadata": {**primary.metadata, rotation.RETIRE_AFTER: until.isoformat()},
                                         "expires_at": ends}))
        steps.append(spec.create_step(primary.token))
    elif rotated:
        reason = "rotation requested" if rotate else (
            "key secret missing from the key store" if secret_hash is None else
            "key secret does not match the live key")
        changes.append(("key", primary.token[:12] + "…", f"new key ({reason})"))
        # Aliases are unique: retire the old alias, mint the new key (secret first), then delete the old key.
        steps.append(Step(Op.KEY_UPDATE, {"key": primary.token, "key_alias": spec.alias + rotation.RETIRING_SUFFIX}))
        steps.append(spec.create_step(keep))
        steps.append(Step(Op.KEY_DELETE, {"keys": [primary.token]}))
    elif primary.alias != spec.alias:
        steps.append(Step(Op.KEY_UPDATE, {"key": primary.token, "key_alias": spec.alias}))
        changes.append(("key_alias", primary.alias, spec.alias))
    extra = [k.token for k in keys if k.token != primary.token]
    if extra:
        steps.append(Step(Op.KEY_DELETE, {"keys": extra}))
        changes.append(("extra keys", len(extra), 0))
    return KeyDelta([*steps, *retire_steps], [*changes, *retire_changes], rotated, len(past))


def _user_action(user: User, tier: Tier, live: LiveState, commit: str, rotate: bool, adopt: bool,
                 warnings: list[str], today: dt.date, now: dt.datetime, *, schedule: bool = True,
                 nightly: set[str] | None = None) -> Action | None:
    """`schedule=False` leaves out the tier's scheduled rotation and the deletion of retired keys
    (deferred to a later run by the safety limits, see _defer_scheduled).
    `nightly` (a set, for `gatewayctl rotate`): return only what the nightly job may do on its own,
    the calendar's changes and never git's (see _nightly_part); the user's id is added to the set
    when the rest of the action is left for the deploy job."""
    lu = live.users.get(user.id)
    managed_tier_teams = tier_teams(live)
    team_id = tier.team_for(user.id)  # the user's team of the tier (reconciler/shards.py)
    want_user = mapping.desired(user)
    meta = {**marker(user.id, commit), **mapping.metadata(user)}
    old_memberships = sorted(((set(lu.teams) & managed_tier_teams) if lu is not None else set()) - {team_id})
    live_carry = member_budget.live_carry(lu)
    carry = live_carry if live_carry is not None and live_carry.valid(team_id, now) else None
    if old_memberships and lu is not None:  # a move (of tier or of team): the month's spend comes along
        carry = member_budget.carry_for_move(lu, old_memberships, team_id, live, now)
        want_user[member_budget.CARRY_KEY] = carry.as_metadata() if carry else None
    if carry is not None:
        meta[member_budget.CARRY_KEY] = carry.as_metadata()
    user_body = {"user_id": user.id, **mapping.body(user), "metadata": meta}
    steps: list[Step] = []
    kind = "update"

    if lu is None:
        kind = "create"
        changes = [(k, None, v) for k, v in want_user.items()]
        steps.append(Step(Op.USER_NEW, {**user_body, "auto_create_key": False}))
        memberships: set[str] = set()
    else:
        if not lu.managed and not adopt:
            return None  # reported as out-of-band (reconciler.outofband)
        have_user = {**mapping.live(User, lu.fields, lu.metadata),
                     member_budget.CARRY_KEY: lu.metadata.get(member_budget.CARRY_KEY)}
        changes = mapping.diff(have_user, want_user)
        if not lu.managed:
            kind = "adopt"
            changes.insert(0, ("managed_by", None, MANAGED_BY))
        if changes:
            steps.append(Step(Op.USER_UPDATE, user_body))
        memberships = set(lu.teams) & managed_tier_teams

    old_tiers = sorted(memberships - {team_id})
    if team_id not in memberships:
        steps.append(Step(Op.MEMBER_ADD, {"team_id": team_id, "user_id": user.id}))
    if old_tiers and lu is not None:
        kind = "move"
        changes = [c for c in changes if c[0] not in ("tier", member_budget.CARRY_KEY)]
        changes.insert(0, _move_label(old_tiers, team_id, tier, live))
        if carry is not None:
            changes.insert(1, ("spend carried over", None, f"${carry.usd:.2f} already spent this month"))
    else:
        changes = [c for c in changes if c[0] != member_budget.CARRY_KEY]
    row = member_budget.desired_row(user, tier, carry, today)
    have_row = live.membership(team_id, user.id) if team_id in memberships else None
    row_steps, row_changes = member_budget.steps_for(user.id, team_id, row, have_row)
    # The carry's budget window has reset, and that alone is why the member row differs: the live row
    # is exactly what the grant gave with the carry (not an exception added in git since, say).
    carry_ended = (bool(row_steps) and live_carry is not None and carry is None and have_row is not None
                   and not old_tiers and have_row.limits() == member_budget.desired_row(user, tier, live_carry, today))
    row_part = [Step(op, args) for op, args in row_steps]
    steps += row_part
    changes += row_changes

    keys = live.managed_keys(user.id)
    spec = KeySpec(user.id, user.key_alias, team_id, tuple(KEY_MODELS), key_expiry(user), marker(user.id, commit),
                   USER_KEY_ROUTES, issued_on=today)
    policy = rotation.RotationPolicy(tier.key_max_age_days, tier.key_rotation_overlap_days) if schedule else None
    delta = _key_steps(spec, keys, live.secrets.get(user.id), rotate, retiring_hash=live.retiring.get(user.id),
                       today=today if schedule else None, policy=policy)
    only_retirement = delta.retired and not steps and all(s.op == Op.KEY_DELETE for s in delta.steps)
    steps += delta.steps
    if lu is not None:
        changes += delta.changes
    if delta.rotated and kind == "update":
        kind = "rotate"
    elif only_retirement and kind == "update":
        kind = "retire"
    elif kind == "update" and carry_ended and steps == row_part:
        kind = "end-carry"  # the calendar's doing, not git's: the nightly job applies it too
    for team_id in old_tiers:
        steps.append(Step(Op.MEMBER_DELETE, {"team_id": team_id, "user_id": user.id}))

    if not steps:
        return None
    action = Action(kind, f"user:{user.id}", f"tier {user.tier}", changes=changes, steps=steps,
                    key_hashes=[k.token for k in keys], counts=_counts(delta, moved=bool(old_tiers)))
    if nightly is None:
        return action
    part = _nightly_part(action, delta, (row_part, row_changes) if carry_ended else None,
                         keys_ok=team_id in memberships and not old_tiers)
    if part is None or len(part.steps) < len(steps):
        nightly.add(user.id)
    return part


def _nightly_part(action: Action, delta: KeyDelta, ended_carry: tuple[list[Step], list] | None, *,
                  keys_ok: bool) -> Action | None:
    """What of a user's action the nightly job (`gatewayctl rotate`) applies on its own: a due
    rotation or retirement of the key (with the key's other repairs: rotation.KEY_OPS only), unless
    a membership change is pending, since the key belongs in the team the deploy has yet to make;
    and a tier move's carried-over spend whose budget window has reset (`end-carry`: a scoped
    deploy never reads such a member). Everything else is git's, and waits for the deploy job."""
    steps: list[Step] = []
    changes: list = []
    keys = keys_ok and (delta.rotated or delta.retired) and {s.op for s in delta.steps} <= rotation.KEY_OPS
    if ended_carry:
        steps += ended_carry[0]
        changes += ended_carry[1]
    if keys:
        steps += delta.steps
        changes += delta.changes
    if not steps:
        return None
    kind = ("rotate" if delta.rotated else "retire") if keys else "end-carry"
    return replace(action, kind=kind, steps=steps, changes=changes, counts=_counts(delta) if keys else {})


def _counts(delta: KeyDelta, *, moved: bool = False) -> dict[str, int]:
    """The destructive part of a user's or the viewer's action, for the safety limits. A retired
    key's deletion counts as a rotation: it is the second half of one (and a wrong --today would
    delete keys still inside their window)."""
    out = {"rotation": int(delta.rotated) + delta.retired, "move": int(moved),
           "prune": sum(old for name, old, _ in delta.changes if name == "extra keys")}
    return {k: n for k, n in out.items() if n}


def _viewer_action(live: LiveState, commit: str, rotate: bool, warnings: list[str]) -> Action | None:
    """The read-only `proxy_admin_viewer` identity whose key PR plans use instead of the master key.
    Its key lives in the key store like a user's, under the id `gatewayctl-plan-viewer`."""
    lu = live.users.get(VIEWER_ID)
    meta = {**marker(None, commit), SERVICE_MARKER: "plan-viewer"}
    steps: list[Step] = []
    if lu is None:
        steps.append(Step(Op.USER_NEW, {"user_id": VIEWER_ID, "user_role": VIEWER_ROLE, "models": USER_MODELS,
                                       "auto_create_key": False, "metadata": meta}))
    elif not lu.managed:
        warnings.append(f"user {VIEWER_ID} exists but is not managed by gatewayctl; plan-viewer key not managed")
        return None
    elif lu.role != VIEWER_ROLE:
        steps.append(Step(Op.USER_UPDATE, {"user_id": VIEWER_ID, "user_role": VIEWER_ROLE}))
    keys = [k for k in live.keys
            if k.managed and k.user_id == VIEWER_ID and k.metadata.get(SERVICE_MARKER) == "plan-viewer"]
    spec = KeySpec(VIEWER_ID, VIEWER_ID, None, (), None, meta, VIEWER_KEY_ROUTES)
    delta = _key_steps(spec, keys, live.secrets.get(VIEWER_ID), rotate)
    steps += delta.steps
    if not steps:
        return None
    kind = "create" if lu is None else ("rotate" if delta.rotated else "update")
    return Action(kind, f"service:{VIEWER_ID}", f"{VIEWER_ROLE} key for PR plans", changes=delta.changes,
                  steps=steps, key_hashes=[k.token for k in keys], counts=_counts(delta))


def _defer_scheduled(actions: list[Action], unscheduled, population: int, limits: SafetyLimits) -> int:
    """Scheduled rotations and retirements are not urgent: where they would take a run over the
    rotation limit or the total, the excess waits for the next runs (users in id order) instead of
    refusing the run, so keys that all fall due on one day roll over a few nights. `unscheduled(uid)`
    is the user's action without scheduled work. Changes `actions` in place; returns how many users wait."""
    extra: dict[int, tuple[Action | None, int]] = {}  # index in actions -> (action without schedule, its share)
    for i, a in enumerate(actions):
        if a.kind == "revoke" or not a.target.startswith("user:") or not a.counts.get("rotation"):
            continue
        base = unscheduled(a.target.removeprefix("user:"))
        n = a.counts["rotation"] - (base.counts.get("rotation", 0) if base else 0)
        if n > 0:
            extra[i] = (base, n)
    if not extra:
        return 0
    scheduled = sum(n for _, n in extra.values())
    room = []
    for kind in ("rotation", "total"):
        if not limits.allowed(kind):
            fixed = sum(a.counts.get(k, 0) for a in actions for k in (KINDS if kind == "total" else (kind,)))
            room.append(limits.limit(kind, population) - (fixed - scheduled))
    left = min(room, default=scheduled)
    deferred = 0
    for i in sorted(extra, key=lambda i: actions[i].target):
        base, n = extra[i]
        if n <= left:
            left -= n
        else:
            actions[i] = base  # None: nothing else to do for this user
            deferred += 1
    actions[:] = [a for a in actions if a is not None]
    return deferred


def _retiring_tokens(live: LiveState) -> set[str]:
    """Keys in a scheduled rotation's overlap window, as the key store names them. They are part of
    their user's one access: not counted as managed keys of their own by the safety limits."""
    return {k.token for k in live.keys if k.owner_id and rotation.retire_after(k)
            and k.token == live.retiring.get(k.owner_id) != live.secrets.get(k.owner_id)}


def _revocations(active: dict[str, User], desired: DesiredState, live: LiveState) -> list[Action]:
    """Offboarding: every key of a user gatewayctl manages who is no longer (or no longer validly) in
    users/, whoever issued the key, and their tier-team memberships. The LiteLLM user stays, for
    its spend history."""
    managed_tier_teams = tier_teams(live)
    managed_ids = {uid for uid, lu in live.users.items() if lu.managed and lu.metadata.get("gitops_user_id") == uid}
    managed_ids |= {k.owner_id for k in live.keys if k.owner_id}
    retiring = _retiring_tokens(live)
    actions = []
    for uid in sorted(managed_ids - set(active)):
        keys = sorted((k for k in live.keys if k.user_id == uid), key=lambda k: k.token)
        lu = live.users.get(uid)
        teams = sorted(set(lu.teams if lu else ()) & managed_tier_teams)
        if not keys and not teams:
            continue
        user = desired.users.get(uid)
        reason = f"expired on {user.expires}" if user else "no longer in users/"
        steps = [Step(Op.KEY_DELETE, {"keys": [k.token for k in keys]})] if keys else []
        # Leaving the team last: member_delete also deletes the user's team keys, and it is the step
        # that must happen even when the keys are already gone.
        steps += [Step(Op.MEMBER_DELETE, {"team_id": t, "user_id": uid}) for t in teams]
        actions.append(Action("revoke", f"user:{uid}", reason,
                              changes=[("key", k.token[:12] + "…", None) for k in keys]
                              + [("member", t, None) for t in teams],
                              steps=steps, key_hashes=[k.token for k in keys],
                              # The user's managed keys (at least 1: their access); keys someone else made
                              # for them go along without counting.
                              counts={"revocation": max(1, sum(1 for k in keys
                                                               if k.owner_id == uid and k.token not in retiring))}))
    return actions


def build_plan(desired: DesiredState, live: LiveState, *, today: dt.date, commit: str,
               rotate: frozenset[str] = frozenset(), limits: SafetyLimits | None = None,
               adopt: bool = False, plan_viewer: bool = False, prune_unmanaged: bool = False,
               now: dt.datetime | None = None, rotation_only: bool = False, keys_outside: int = 0) -> Plan:
    """`plan_viewer` also manages the read-only key PR plans use; without it that key is ignored.
    `prune_unmanaged` makes the removal of out-of-band keys and memberships part of the actions.
    `now` (default: the clock) decides whether spend carried over a tier move is still in its window.
    `rotation_only` (`gatewayctl rotate`) keeps only key rotations and retirements; the safety
    limits then count only those, and everything else waits for the deploy job.
    `keys_outside`: managed keys of users a scoped plan did not read (reconciler/scope.py), added to
    the population the safety limits are fractions of."""
    from reconciler import outofband

    limits = limits or SafetyLimits()
    now = now or dt.datetime.now(dt.UTC)
    warnings: list[str] = []
    actions = _tier_actions(desired, live, commit, warnings)
    if plan_viewer:
        viewer = _viewer_action(live, commit, VIEWER_ID in rotate, warnings)
        if viewer:
            actions.append(viewer)
    # A tier whose team (any of them) exists but is not gatewayctl's is left alone (reported out of band).
    tiers_ok = {k for k, t in desired.tiers.items()
                if all(live.teams.get(team) is None or live.teams[team].managed for team in t.team_ids)}

    if rotation_only:  # tiers and the viewer: only what rotation.only_rotations keeps
        actions, left = rotation.only_rotations(actions)
    nightly: set[str] | None = set() if rotation_only else None
    active = {uid: u for uid, u in desired.users.items() if not u.expired(today)}
    for uid in sorted(active):
        user = active[uid]
        if user.tier not in tiers_ok:
            continue
        action = _user_action(user, desired.tiers[user.tier], live, commit, uid in rotate, adopt, warnings, today,
                              now, nightly=nightly)
        if action:
            actions.append(action)

    revokes = _revocations(active, desired, live)
    if not rotation_only:
        actions += revokes
    found = outofband.find(desired, active, live, revoked={a.target.removeprefix("user:") for a in revokes},
                           adopt=adopt, service_id=VIEWER_ID, service_marker=SERVICE_MARKER)
    if prune_unmanaged:
        actions += [a for a in found if a.kind == "prune"]
        found = [a for a in found if a.kind != "prune"]

    if rotation_only:
        left += len(nightly or ()) + len(revokes)
        if left:
            warnings.append(f"{left} other change(s) are left for the deploy job (`gatewayctl apply`)")

    def unscheduled(uid: str) -> Action | None:
        user = active[uid]
        return _user_action(user, desired.tiers[user.tier], live, commit, uid in rotate, adopt, [], today, now,
                            schedule=False, nightly=set() if rotation_only else None)

    retiring = _retiring_tokens(live)
    managed_keys = sum(1 for k in live.keys if k.owner_id and k.token not in retiring) + keys_outside
    deferred = _defer_scheduled(actions, unscheduled, managed_keys, limits)
    if deferred:
        warnings.append(f"{deferred} user(s)' scheduled key rotation or retirement wait for a later run: this run "
                        f"already reaches the safety limit (at most {limits.limit('rotation', managed_keys)} "
                        f"rotations of {managed_keys} managed keys; {FLAGS['rotation']} does all now)")
    counts = {kind: sum(a.counts.get(kind, 0) for a in actions) for kind in KINDS}
    hint = ("the key store lists no secret at all: wrong AWS region or --secret-prefix?"
            if counts["rotation"] and managed_keys and not any(live.secrets.values()) else "")
    refused = refusal(counts, managed_keys, limits, hint=hint)

    actions.sort(key=lambda a: (ACTION_KINDS[a.kind][0], a.target))
    inputs = {"rotate": sorted(rotate), "adopt": adopt, "plan_viewer": plan_viewer,
              "prune_unmanaged": prune_unmanaged, "today": today.isoformat()}
    touched = {a.target.removeprefix("user:") for a in actions if a.target.startswith("user:")}
    if rotation_only:
        inputs["rotation_only"] = True
    return Plan(actions=actions, warnings=warnings, desired_digest=desired_digest(desired),
                live_digest=live.digest(), git_commit=commit, managed_key_count=managed_keys,
                revocation_count=counts["revocation"], refused=refused, out_of_band=found, counts=counts,
                inputs=inputs, overrides=limits.overrides(),
                finops=commitment.summarise(desired, live, touched, today, now),
                budget_alerts={key: list(t.alerts) for key, t in desired.tiers.items()})
