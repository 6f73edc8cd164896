"""The plan core: the diff of desired against live state, then processors, then the safety limits.

The diff (`diff`) is every entity's part (tiers, the plan-viewer, users, revocations, out-of-band)
and knows nothing of what a run leaves out or adds: processors (reconciler/plan/processors.py, and
the scoped read in reconciler/plan/scope.py) change a draft in order before the limits are checked. How
tier teams are named comes in as a `TeamLayout` (reconciler/desired/shards.py). Nothing here performs I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.desired.policy import DesiredState
from reconciler.live.digest import dataclass_fields, json_digest
from reconciler.live.state import LiveState
from reconciler.plan import outofband
from reconciler.plan.context import PlanContext, TeamLayout
from reconciler.plan.limits import KINDS, refusal
from reconciler.plan.model import ACTION_KINDS, Action, Plan
from reconciler.plan.revocations import managed_key_count, revocations
from reconciler.plan.tiers import TierTeams, reconciled_tiers, tier_actions
from reconciler.plan.users import UserDiff, diff_user
from reconciler.plan.viewer import service_action, wanted


@dataclass
class Draft:
    """A plan being made: what the diff found, as processors leave it."""

    context: PlanContext
    actions: list[Action]
    out_of_band: list[Action]  # reports and prunes: drift that is not applied
    warnings: list[str]
    inputs: dict  # what the plan was asked to do, as the plan file records it
    population: int  # managed keys the safety limits are fractions of
    users: dict[str, UserDiff] = field(default_factory=dict)  # by target: the diff, in parts, of each user's action
    # Which part of a user's diff this run applies (with or without the calendar's work): what
    # planning the user gives, the nightly job's share of it, ... (reconciler/plan/processors.py).
    user_part: Callable[[UserDiff, bool], Action | None] = UserDiff.action


class Processor(Protocol):
    def process(self, draft: Draft) -> None:
        """Change the draft in place: leave work out, move findings into the actions, add warnings."""


def diff(desired: DesiredState, live: LiveState, context: PlanContext, layout: TeamLayout) -> Draft:
    """Every change that makes `live` grant what `desired` says, and the access no file grants."""
    teams = TierTeams.of(live, layout)
    warnings: list[str] = []
    actions = tier_actions(desired, live, context, layout)
    for account in wanted(context):
        service = service_action(account, live, context, warnings)
        if service:
            actions.append(service)
    tiers_ok = reconciled_tiers(desired, live)
    active = {uid: u for uid, u in desired.users.items() if not u.expired(context.today)}
    users: dict[str, UserDiff] = {}  # of the users with something to do: what processors work on
    for uid in sorted(active):
        user = active[uid]
        found = diff_user(user, desired.tiers[user.tier], live, context, teams) if user.tier in tiers_ok else None
        action = found.action() if found is not None else None
        if action:
            users[found.target] = found
            actions.append(action)
    revokes = revocations(active, desired, live, teams)
    revoked = {a.target.removeprefix("user:") for a in revokes}
    return Draft(context, actions + revokes, outofband.find(desired, live, context, teams, active, revoked),
                 warnings, context.inputs(), managed_key_count(live), users)


def _finish(draft: Draft, desired: DesiredState, live: LiveState) -> Plan:
    """The safety limits over what is left to apply, and the plan in its order."""
    limits = draft.context.limits
    counts = {kind: sum(a.counts.get(kind, 0) for a in draft.actions) for kind in KINDS}
    hint = ("the key store lists no secret at all: wrong AWS region or --secret-prefix?"
            if counts["rotation"] and draft.population and not any(live.secrets.values()) else "")
    actions = sorted(draft.actions, key=lambda a: (ACTION_KINDS[a.kind][0], a.target))
    return Plan(actions=actions, warnings=draft.warnings, desired_digest=desired_digest(desired),
                live_digest=live.digest(), git_commit=draft.context.commit, managed_key_count=draft.population,
                revocation_count=counts["revocation"], refused=refusal(counts, draft.population, limits, hint=hint),
                out_of_band=draft.out_of_band, counts=counts, inputs=draft.inputs, overrides=limits.overrides())


def build_plan(desired: DesiredState, live: LiveState, context: PlanContext, processors: Iterable[Processor],
               layout: TeamLayout) -> Plan:
    draft = diff(desired, live, context, layout)
    for processor in processors:
        processor.process(draft)
    return _finish(draft, desired, live)


def desired_digest(desired: DesiredState) -> str:
    return json_digest(desired, default=dataclass_fields)
