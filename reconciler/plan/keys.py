"""Keys: the one managed key an identity must hold, and the steps that leave exactly that key
(plus, after a scheduled rotation, the previous key through its overlap window: reconciler/plan/rotation.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple

from reconciler.desired.policy import User, end_of_day_utc
from reconciler.live.state import LiveKey, LiveState
from reconciler.plan import rotation
from reconciler.plan.model import Step
from reconciler.plan.steps import Op

EXPIRY_TOLERANCE_S = 300
# Users' keys may call the model APIs and nothing else: every admin route answers 403, whatever the
# user's role (also after a promotion to proxy_admin). Only a proxy admin can set or change this.
# Exactly the load balancer's public model paths (modules/gateway-load-balancer `public_paths`, without
# the health checks; tests/test_escalation.py keeps the two equal), not LiteLLM's `llm_api_routes`: that
# group also holds the /bedrock/* pass-through, which sends a body to Bedrock as written (no max_tokens
# default, so no budget bound), /model/info (the deployments' settings), MCP, agents and more.
USER_KEY_ROUTES = (
    "/v1/chat/completions", "/chat/completions", "/v1/completions", "/completions",
    "/v1/embeddings", "/embeddings", "/v1/messages", "/v1/messages/count_tokens",
    "/v1/models", "/models", "/v1/responses", "/responses",
)
KEY_MODELS = ("all-team-models",)  # a key follows its team's (tier's) models, also across tier moves

Change = tuple[str, Any, Any]


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


class HeldKeys(NamedTuple):
    """What an identity holds now: its live keys, and the hashes the key store tags its secret with."""

    keys: list[LiveKey]
    secret_hash: str | None
    retiring_hash: str | None = None

    @classmethod
    def of(cls, live: LiveState, owner_id: str, keys: list[LiveKey]) -> HeldKeys:
        return cls(keys, live.secrets.get(owner_id), live.retiring.get(owner_id))


class KeyDelta(NamedTuple):
    steps: list[Step]
    changes: list[Change]
    rotated: bool  # a new key is minted
    retired: int  # retiring keys whose overlap window ended, deleted

    def counts(self, *, moved: bool = False) -> dict[str, int]:
        """The destructive part of an identity's action, for the safety limits. A retired key's
        deletion counts as a rotation: it is the second half of one (and a wrong --today would
        delete keys still inside their window)."""
        out = {"rotation": int(self.rotated) + self.retired, "move": int(moved),
               "prune": sum(old for name, old, _ in self.changes if name == "extra keys")}
        return {k: n for k, n in out.items() if n}


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


def _short(k: LiveKey) -> str:
    return k.token[:12] + "…"


def _retiring_steps(spec: KeySpec, inside: list[LiveKey], past: list[LiveKey]) -> tuple[list[Step], list[Change]]:
    """Keys in their overlap window grant what the user's current key grants (their tier, model
    routes only) and keep an expiry; keys past it are deleted."""
    steps: list[Step] = []
    changes: list[Change] = []
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
        changes += [("retiring key", _short(k), f"deleted (overlap window ended {rotation.retire_after(k)})")
                    for k in past]
    return steps, changes


def _repair(spec: KeySpec, primary: LiveKey, due: str | None) -> tuple[list[Step], list[Change]]:
    """The key kept as it is, but granting exactly what `spec` grants, with its expiry."""
    fix = _grant_fix(spec, primary)
    if not _same_instant(primary.expires, spec.expires_at):
        fix["expires_at"] = spec.expires_at
    if rotation.RETIRE_AFTER in primary.metadata and not due:  # a retirement that never finished
        fix["metadata"] = {k: v for k, v in primary.metadata.items() if k != rotation.RETIRE_AFTER}
    if not fix:
        return [], []
    old = _old(primary)
    changes = [(f"key.{k}", old[k], v) for k, v in fix.items() if k in old]
    if "metadata" in fix:
        changes.append((f"key.{rotation.RETIRE_AFTER}", primary.metadata[rotation.RETIRE_AFTER], None))
    return [Step(Op.KEY_UPDATE, {"key": primary.token, **fix})], changes


def _scheduled_renewal(spec: KeySpec, primary: LiveKey, due: str, until: dt.date) -> tuple[list[Step], list[Change]]:
    """Scheduled: the old key keeps working through the window (LiteLLM's own expiry ends it)."""
    ends = end_of_day_utc(until)
    if spec.expires_at is not None and spec.expires_at < ends:
        ends = spec.expires_at
    change = ("key", _short(primary), f"new key ({due}); the old key works until {until}")
    steps = [Step(Op.KEY_UPDATE, {"key": primary.token, "key_alias": spec.alias + rotation.RETIRING_SUFFIX,
                                  "metadata": {**primary.metadata, rotation.RETIRE_AFTER: until.isoformat()},
                                  "expires_at": ends}),
             spec.create_step(primary.token)]
    return steps, [change]


def _renewal(spec: KeySpec, primary: LiveKey, keep: str | None, reason: str) -> tuple[list[Step], list[Change]]:
    """Aliases are unique: retire the old alias, mint the new key (secret first), then delete the old key."""
    steps = [Step(Op.KEY_UPDATE, {"key": primary.token, "key_alias": spec.alias + rotation.RETIRING_SUFFIX}),
             spec.create_step(keep), Step(Op.KEY_DELETE, {"keys": [primary.token]})]
    return steps, [("key", _short(primary), f"new key ({reason})")]


def key_steps(spec: KeySpec, held: HeldKeys, rotate: bool, *, today: dt.date | None = None,
              policy: rotation.RotationPolicy | None = None) -> KeyDelta:
    """Steps that leave exactly one healthy managed key whose raw value is in the key store, plus
    the previous key while its overlap window after a scheduled rotation lasts. Both are named by
    the key store: the current key by its hash tag, the retiring one by its retiring-hash tag.
    Without `today` and `policy` nothing is due by the calendar (no scheduled rotation, no retirement)."""
    inside, past, keys = rotation.split_retiring(held.keys, held.secret_hash, held.retiring_hash, today)
    steps: list[Step] = []
    changes: list[Change] = []
    if rotate and (inside or past):
        # A requested rotation is for a leaked key, and either key may be the leaked one: the key in its
        # overlap window ends now too, first (the current key is renamed to its alias), and the new key's
        # secret records no retiring key.
        steps.append(Step(Op.KEY_DELETE, {"keys": [k.token for k in inside + past]}))
        changes += [("retiring key", _short(k), "deleted (rotation requested)") for k in inside + past]
        inside, past = [], []
    retire_steps, retire_changes = _retiring_steps(spec, inside, past)
    keep = inside[0].token if inside else None  # a repair keeps the key store's record of a key still in its window
    primary = _primary_key(spec, keys, held.secret_hash)
    if primary is None:
        # With a key in its overlap window, this finishes a rotation a crash cut short after the rename:
        # the rotation job's to finish, not the deploy's.
        return KeyDelta([*steps, *retire_steps, spec.create_step(keep)],
                        [*changes, ("key", None, spec.alias), *retire_changes], bool(inside or steps), len(past))
    due = None if rotate or held.secret_hash != primary.token else rotation.due_reason(primary, policy, today)
    part = _repair(spec, primary, due)
    rotated = rotate or due is not None or held.secret_hash != primary.token
    if due and policy is not None and today is not None:
        renewal = _scheduled_renewal(spec, primary, due, rotation.window_end(policy, today))
    elif rotated:
        renewal = _renewal(spec, primary, keep, "rotation requested" if rotate else (
            "key secret missing from the key store" if held.secret_hash is None else
            "key secret does not match the live key"))
    elif primary.alias != spec.alias:
        renewal = ([Step(Op.KEY_UPDATE, {"key": primary.token, "key_alias": spec.alias})],
                   [("key_alias", primary.alias, spec.alias)])
    else:
        renewal = ([], [])
    steps += part[0] + renewal[0]
    changes += part[1] + renewal[1]
    extra = [k.token for k in keys if k.token != primary.token]
    if extra:
        steps.append(Step(Op.KEY_DELETE, {"keys": extra}))
        changes.append(("extra keys", len(extra), 0))
    return KeyDelta([*steps, *retire_steps], [*changes, *retire_changes], rotated, len(past))
