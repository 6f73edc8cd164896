"""Tiers: each tier's LiteLLM teams (one or more, reconciler/desired/shards.py) hold the tier's limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.desired import mapping
from reconciler.desired.policy import DesiredState, Tier
from reconciler.live.state import LiveState
from reconciler.plan.context import PlanContext, TeamLayout
from reconciler.plan.model import Action, Step
from reconciler.plan.steps import Op


@dataclass(frozen=True)
class TierTeams:
    """The managed tier teams LiteLLM holds, every team of every tier (also of tiers no longer in
    git), and how their ids are named."""

    layout: TeamLayout
    managed: frozenset[str]

    @classmethod
    def of(cls, live: LiveState, layout: TeamLayout) -> TierTeams:
        return cls(layout, frozenset(t for t, team in live.teams.items()
                                     if team.managed and layout.tier_of(t) is not None))

    def move_label(self, old_teams: list[str], team_id: str, tier: Tier, live: LiveState) -> tuple[str, Any, Any]:
        """The plan line of a move: a tier change, or, between teams of the same tier, a team change
        (`team: tier-coding -> tier-coding.1 (teams: 1 -> 2)`), so a reviewer sees no fake tier change."""
        tier_of = self.layout.tier_of
        if all(tier_of(t) == tier.key for t in old_teams):
            live_count = sum(1 for t in live.teams if tier_of(t) == tier.key)
            count = f"teams: {live_count} -> {tier.teams}" if live_count != tier.teams else f"teams: {tier.teams}"
            return ("team", ", ".join(old_teams), f"{team_id} ({count})")
        return ("tier", ", ".join(sorted({tier_of(t) or t for t in old_teams})), tier.key)


def tier_actions(desired: DesiredState, live: LiveState, context: PlanContext, layout: TeamLayout) -> list[Action]:
    """Each team of each tier holds the same limits: one action per team."""
    actions = []
    for tier in desired.tiers.values():
        want = mapping.desired(tier)
        for team_id in tier.team_ids:
            target = f"tier:{layout.label(team_id)}"  # tier:coding, tier:coding.1, ...
            body = {"team_id": team_id, **mapping.body(tier)}
            team = live.teams.get(team_id)
            if team is None:
                actions.append(Action("create-tier", target, f"team {team_id}",
                                      changes=[(k, None, v) for k, v in want.items()],
                                      steps=[Step(Op.TEAM_NEW, {**body, "metadata": context.marker(None)})]))
                continue
            if not team.managed:
                continue  # reported as out-of-band (reconciler/plan/outofband.py)
            changes = mapping.diff(mapping.live(Tier, team.fields, {}), want)
            if changes:
                update = {"team_id": team_id}
                for k, _, _ in changes:
                    update[k] = body[k]
                actions.append(Action("update-tier", target, f"team {team_id}",
                                      changes=changes, steps=[Step(Op.TEAM_UPDATE, update)]))
    return actions


def reconciled_tiers(desired: DesiredState, live: LiveState) -> set[str]:
    """Tiers whose users are reconciled: a tier whose team (any of them) exists but is not
    gatewayctl's is left alone (reported out of band)."""
    return {k for k, t in desired.tiers.items()
            if all(live.teams.get(team) is None or live.teams[team].managed for team in t.team_ids)}
