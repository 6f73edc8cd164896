"""Access that exists in LiteLLM but was not granted by this repository: out-of-band changes.

Every finding is drift (plan/drift exit 2), so the nightly drift issue stays open until someone
acts. Two kinds:
  prune   a key gatewayctl did not issue, or a tier-team membership no file grants. `apply
          --prune-unmanaged` removes it (within the safety limits); without the flag apply leaves it.
  report  something only a person can settle: a key blocked outside git (emergency revoke, settled by
          the offboarding PR), a user or team of the same id that gatewayctl did not create (settled
          with `--adopt`, or by renaming), a tier team no tier has any more (`teams:` lowered or a
          tier removed: its users were moved, but it still grants its models to any key made for it;
          settled by deleting the team). Apply never changes these.
Keys of users who are being offboarded are not listed here: their revocation removes every one.
"""

from __future__ import annotations

from reconciler.desired.policy import DesiredState, User
from reconciler.live.state import LiveKey, LiveState
from reconciler.plan.context import PlanContext
from reconciler.plan.model import Action, Step
from reconciler.plan.steps import Op
from reconciler.plan.tiers import TierTeams
from reconciler.plan.viewer import is_service_key

# LiteLLM makes the master key's identity an admin member of every team it creates.
LITELLM_DEFAULT_USER = "default_user_id"


def _key_name(k: LiveKey) -> str:
    return k.alias or (k.token[:12] + "…")


def _team_reports(desired: DesiredState, live: LiveState, teams: TierTeams) -> list[Action]:
    out = []
    for tier in desired.tiers.values():
        for team_id in tier.team_ids:
            team = live.teams.get(team_id)
            if team is not None and not team.managed:
                out.append(Action("report", f"team:{team_id}", "exists but gatewayctl did not create it; tier "
                                  f"{tier.key!r} and its users are not reconciled until it is removed or renamed"))
    wanted = {team_id for tier in desired.tiers.values() for team_id in tier.team_ids}
    for team_id in sorted(teams.managed - wanted):
        models = live.teams[team_id].models
        grants = ", ".join(models) if models else "every model (LiteLLM reads an empty list so)"
        out.append(Action("report", f"team:{team_id}", "tier team that no tier in policies/tiers.yaml has any more "
                          f"(`teams:` lowered or the tier removed) still grants {grants} to any key made for it; "
                          "delete it once its members have moved (POST /team/delete; spend logs stay)"))
    return out


def _user_reports(active: dict[str, User], live: LiveState, adopt: bool) -> list[Action]:
    out = []
    for uid, user in active.items():
        lu = live.users.get(uid)
        if lu is not None and not lu.managed and not adopt:
            out.append(Action("report", f"user:{uid}", "exists in LiteLLM but is not managed by gatewayctl; "
                              f"{user.source} is not applied until it is taken over with `gatewayctl apply --adopt`"))
    return out


def _key_findings(active: dict[str, User], live: LiveState, teams: TierTeams, revoked: set[str]) -> list[Action]:
    """Keys blocked outside git (a report), and keys gatewayctl did not issue (a prune)."""
    managed_users = {u for u, lu in live.users.items() if lu.managed}
    out = []
    for k in sorted(live.keys, key=lambda k: k.token):
        if k.owner_id is not None:
            if k.blocked and k.owner_id in active:
                out.append(Action("report", f"user:{k.owner_id}", f"key {_key_name(k)} ({k.token[:12]}…) is blocked "
                                  "outside git (emergency revoke?); gatewayctl does not unblock it: offboard the user "
                                  "in a PR, or remove the block by hand", key_hashes=[k.token]))
            continue
        if is_service_key(k) or k.user_id in revoked:
            continue
        forged = k.metadata.get("gitops_user_id")
        whose = (f"of user {k.user_id}" if k.user_id in active or k.user_id in managed_users
                 else f"in tier team {k.team_id}" if k.team_id in teams.managed
                 else f"of {k.user_id}" if k.user_id else "without a user")
        reason = f"key {whose} not issued by gatewayctl" + (
            f" (its metadata claims gatewayctl issued it to {forged!r}: forged or copied)" if forged else "")
        out.append(Action("prune", f"key:{_key_name(k)}", reason, changes=[("key", k.token[:12] + "…", None)],
                          steps=[Step(Op.KEY_DELETE, {"keys": [k.token]})], key_hashes=[k.token],
                          counts={"prune": 1}))
    return out


def _member_prunes(active: dict[str, User], live: LiveState, teams: TierTeams, revoked: set[str],
                   adopt: bool) -> list[Action]:
    out = []
    for uid in sorted(live.users):
        if uid == LITELLM_DEFAULT_USER or uid in revoked:
            continue
        user = active.get(uid)
        lu = live.users[uid]
        if user is not None and (lu.managed or adopt):
            continue  # the user's own action puts them in exactly their tier's team
        for team_id in sorted(set(lu.teams) & teams.managed):
            out.append(Action("prune", f"member:{uid}@{team_id}", "team membership no file in users/ grants",
                              changes=[("member", team_id, None)],
                              steps=[Step(Op.MEMBER_DELETE, {"team_id": team_id, "user_id": uid})],
                              counts={"prune": 1}))
    return out


def find(desired: DesiredState, live: LiveState, context: PlanContext, teams: TierTeams, active: dict[str, User],
         revoked: set[str]) -> list[Action]:
    """Every out-of-band grant in `live`, as prune or report actions (sorted, deterministic).
    `active`: the users in users/ whose access has not expired; `revoked`: users being offboarded."""
    return [*_team_reports(desired, live, teams), *_user_reports(active, live, context.adopt),
            *_key_findings(active, live, teams, revoked),
            *_member_prunes(active, live, teams, revoked, context.adopt)]
