"""Offboarding: every key of a user gatewayctl manages who is no longer (or no longer validly) in
users/, whoever issued the key, and their tier-team memberships. The LiteLLM user stays, for its
spend history."""

from __future__ import annotations

from reconciler.desired.policy import DesiredState, User
from reconciler.live.state import LiveState
from reconciler.plan import rotation
from reconciler.plan.model import Action, Step
from reconciler.plan.steps import Op
from reconciler.plan.tiers import TierTeams


def retiring_tokens(live: LiveState) -> set[str]:
    """Keys in a scheduled rotation's overlap window, as the key store names them. They are part of
    their user's one access: not counted as managed keys of their own by the safety limits."""
    return {k.token for k in live.keys if k.owner_id and rotation.retire_after(k)
            and k.token == live.retiring.get(k.owner_id) != live.secrets.get(k.owner_id)}


def managed_key_count(live: LiveState) -> int:
    """The managed keys LiteLLM holds, one per identity's access: what the safety limits are fractions of."""
    retiring = retiring_tokens(live)
    return sum(1 for k in live.keys if k.owner_id and k.token not in retiring)


def revocations(active: dict[str, User], desired: DesiredState, live: LiveState, teams: TierTeams) -> list[Action]:
    """`active`: the users in users/ whose access has not expired."""
    managed_ids = {uid for uid, lu in live.users.items() if lu.managed and lu.metadata.get("gitops_user_id") == uid}
    managed_ids |= {k.owner_id for k in live.keys if k.owner_id}
    retiring = retiring_tokens(live)
    actions = []
    for uid in sorted(managed_ids - set(active)):
        keys = sorted((k for k in live.keys if k.user_id == uid), key=lambda k: k.token)
        lu = live.users.get(uid)
        member_of = sorted(set(lu.teams if lu else ()) & teams.managed)
        if not keys and not member_of:
            continue
        user = desired.users.get(uid)
        reason = f"expired on {user.expires}" if user else "no longer in users/"
        steps = [Step(Op.KEY_DELETE, {"keys": [k.token for k in keys]})] if keys else []
        # Leaving the team last: member_delete also deletes the user's team keys, and it is the step
        # that must happen even when the keys are already gone.
        steps += [Step(Op.MEMBER_DELETE, {"team_id": t, "user_id": uid}) for t in member_of]
        actions.append(Action("revoke", f"user:{uid}", reason,
                              changes=[("key", k.token[:12] + "…", None) for k in keys]
                              + [("member", t, None) for t in member_of],
                              steps=steps, key_hashes=[k.token for k in keys],
                              # The user's managed keys (at least 1: their access); keys someone else made
                              # for them go along without counting.
                              counts={"revocation": max(1, sum(1 for k in keys
                                                               if k.owner_id == uid and k.token not in retiring))}))
    return actions
