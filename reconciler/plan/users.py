"""Users: the LiteLLM user, their membership (and budget row) in their tier's team, and their key.

A user's diff is worked out once, in parts: the grant (user row, membership, member budget row) and
the key. The key part is asked for with or without the calendar's work (the tier's scheduled
rotation and the deletion of retired keys), so a processor can leave that work for a later run
without planning the user again (reconciler/plan/processors.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from reconciler.desired import mapping
from reconciler.desired.policy import MANAGED_BY, Tier, User
from reconciler.live.state import LiveState, LiveUser
from reconciler.plan import member_budget, rotation
from reconciler.plan.context import PlanContext
from reconciler.plan.keys import KEY_MODELS, USER_KEY_ROUTES, Change, HeldKeys, KeyDelta, KeySpec, key_expiry, key_steps
from reconciler.plan.model import Action, Step
from reconciler.plan.steps import Op
from reconciler.plan.tiers import TierTeams

CARRY_KEY = member_budget.CARRY_KEY


@dataclass
class UserDiff:
    """One user's diff. `action()` is the whole change; its parts are kept for processors."""

    user: User
    kind: str  # create, adopt, update or move: before the key part is known
    grant: list[Step]  # the user row, the membership and the member budget row, in that order
    changes: list[Change]
    held: HeldKeys
    spec: KeySpec
    rotate: bool
    policy: rotation.RotationPolicy
    today: dt.date
    old_teams: list[str]  # tier teams the user leaves (a move)
    row: tuple[list[Step], list[Change]]  # the member budget row's part of `grant`: steps, changes
    carry_ended: bool  # the carried-over spend's window reset, and that alone changes the row
    in_team: bool  # the user is already a member of their team
    existed: bool  # LiteLLM holds the user (a new user's plan shows no key changes)
    _deltas: dict[bool, KeyDelta] = field(default_factory=dict, repr=False)

    @property
    def target(self) -> str:
        return f"user:{self.user.id}"

    @property
    def keys_settled(self) -> bool:
        """The key belongs in the team the user is in already: no membership change is pending."""
        return self.in_team and not self.old_teams

    def key_delta(self, schedule: bool = True) -> KeyDelta:
        """The key's steps; without `schedule`, none of the calendar's work is included."""
        if schedule not in self._deltas:
            self._deltas[schedule] = key_steps(self.spec, self.held, self.rotate,
                                               today=self.today if schedule else None,
                                               policy=self.policy if schedule else None)
        return self._deltas[schedule]

    def action(self, schedule: bool = True) -> Action | None:
        delta = self.key_delta(schedule)
        only_retirement = delta.retired and not self.grant and all(s.op == Op.KEY_DELETE for s in delta.steps)
        steps = [*self.grant, *delta.steps]
        kind = self.kind
        if kind == "update" and delta.rotated:
            kind = "rotate"
        elif kind == "update" and only_retirement:
            kind = "retire"
        elif kind == "update" and self.carry_ended and steps == self.row[0]:
            kind = "end-carry"  # the calendar's doing, not git's: the nightly job applies it too
        steps += [Step(Op.MEMBER_DELETE, {"team_id": t, "user_id": self.user.id}) for t in self.old_teams]
        if not steps:
            return None
        return Action(kind, self.target, f"tier {self.user.tier}",
                      changes=[*self.changes, *(delta.changes if self.existed else [])], steps=steps,
                      key_hashes=[k.token for k in self.held.keys], counts=delta.counts(moved=bool(self.old_teams)))


def _user_row(user: User, lu: LiveUser | None, want: dict, meta: dict, adopt: bool):
    """(kind, changes, steps) of the LiteLLM user row; None for a user gatewayctl does not manage."""
    body = {"user_id": user.id, **mapping.body(user), "metadata": meta}
    if lu is None:
        new = Step(Op.USER_NEW, {**body, "auto_create_key": False})
        return "create", [(k, None, v) for k, v in want.items()], [new]
    if not lu.managed and not adopt:
        return None  # reported as out-of-band (reconciler/plan/outofband.py)
    have = {**mapping.live(User, lu.fields, lu.metadata), CARRY_KEY: lu.metadata.get(CARRY_KEY)}
    changes = mapping.diff(have, want)
    kind = "update"
    if not lu.managed:
        kind = "adopt"
        changes.insert(0, ("managed_by", None, MANAGED_BY))
    return kind, changes, [Step(Op.USER_UPDATE, body)] if changes else []


@dataclass(frozen=True)
class _Where:
    """The user's team of their tier, the tier teams they are in now, and the spend a move carries."""

    team_id: str
    memberships: frozenset[str]
    live_carry: member_budget.Carry | None
    carry: member_budget.Carry | None

    @property
    def old_teams(self) -> list[str]:
        return sorted(self.memberships - {self.team_id})


def _where(user: User, tier: Tier, lu: LiveUser | None, live: LiveState, teams: TierTeams,
           now: dt.datetime) -> _Where:
    team_id = tier.team_for(user.id)  # the user's team of the tier (reconciler/desired/shards.py)
    memberships = frozenset(set(lu.teams) & teams.managed) if lu is not None else frozenset()
    live_carry = member_budget.live_carry(lu)
    carry = live_carry if live_carry is not None and live_carry.valid(team_id, now) else None
    old = sorted(memberships - {team_id})
    if old and lu is not None:  # a move (of tier or of team): the month's spend comes along
        carry = member_budget.carry_for_move(lu, old, team_id, live, now)
    return _Where(team_id, memberships, live_carry, carry)


def diff_user(user: User, tier: Tier, live: LiveState, context: PlanContext, teams: TierTeams) -> UserDiff | None:
    """What it takes for LiteLLM to grant `user` exactly what their file says; None for a user of the
    same id that gatewayctl does not manage (without --adopt)."""
    lu = live.users.get(user.id)
    where = _where(user, tier, lu, live, teams, context.now)
    want = mapping.desired(user)
    meta = {**context.marker(user.id), **mapping.metadata(user)}
    if where.old_teams:
        want[CARRY_KEY] = where.carry.as_metadata() if where.carry else None
    if where.carry is not None:
        meta[CARRY_KEY] = where.carry.as_metadata()
    row = _user_row(user, lu, want, meta, context.adopt)
    if row is None:
        return None
    kind, changes, steps = row
    if where.team_id not in where.memberships:
        steps.append(Step(Op.MEMBER_ADD, {"team_id": where.team_id, "user_id": user.id}))
    if where.old_teams:
        kind = "move"
        changes = [c for c in changes if c[0] not in ("tier", CARRY_KEY)]
        changes.insert(0, teams.move_label(where.old_teams, where.team_id, tier, live))
        if where.carry is not None:
            changes.insert(1, ("spend carried over", None, f"${where.carry.usd:.2f} already spent this month"))
    else:
        changes = [c for c in changes if c[0] != CARRY_KEY]
    row_steps, row_changes, carry_ended = _budget_row(user, tier, live, where, context.today)
    spec = KeySpec(user.id, user.key_alias, where.team_id, KEY_MODELS, key_expiry(user), context.marker(user.id),
                   USER_KEY_ROUTES, issued_on=context.today)
    return UserDiff(user, kind, grant=[*steps, *row_steps], changes=[*changes, *row_changes],
                    held=HeldKeys.of(live, user.id, live.managed_keys(user.id)), spec=spec,
                    rotate=user.id in context.rotate,
                    policy=rotation.RotationPolicy(tier.key_max_age_days, tier.key_rotation_overlap_days),
                    today=context.today, old_teams=where.old_teams, row=(row_steps, row_changes),
                    carry_ended=carry_ended, in_team=where.team_id in where.memberships, existed=lu is not None)


def _budget_row(user: User, tier: Tier, live: LiveState, where: _Where,
                today: dt.date) -> tuple[list[Step], list[Change], bool]:
    """The member budget row's steps and changes, and whether the carry's budget window has reset and
    that alone is why the row differs: the live row is exactly what the grant gave with the carry (not
    an exception added in git since, say)."""
    want = member_budget.desired_row(user, tier, where.carry, today)
    have = live.membership(where.team_id, user.id) if where.team_id in where.memberships else None
    row_steps, row_changes = member_budget.steps_for(user.id, where.team_id, want, have)
    carry_ended = (bool(row_steps) and where.live_carry is not None and where.carry is None and have is not None
                   and not where.old_teams
                   and have.limits() == member_budget.desired_row(user, tier, where.live_carry, today))
    return [Step(op, args) for op, args in row_steps], row_changes, carry_ended
