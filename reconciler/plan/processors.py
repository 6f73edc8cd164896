"""Processors over a draft plan (reconciler/plan/core.py): what a run leaves out of the diff or adds
to it. Each is one decision the diff does not make:

  NightlyOnly  `gatewayctl rotate`: only the calendar's changes, never git's
  Prune        `--prune-unmanaged`: access no file grants becomes part of the actions
  Deferral     scheduled rotations beyond a safety limit wait for the next runs

`standard()` puts them in their order; a scoped read (reconciler/plan/scope.py) goes before them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from reconciler.plan import rotation
from reconciler.plan.core import Draft, Processor
from reconciler.plan.limits import FLAGS, KINDS
from reconciler.plan.model import Action, Step
from reconciler.plan.users import UserDiff


def nightly_part(diff: UserDiff, schedule: bool = True) -> Action | None:
    """What of a user's action the nightly job (`gatewayctl rotate`) applies on its own: a due
    rotation or retirement of the key (with the key's other repairs: rotation.KEY_OPS only), unless
    a membership change is pending, since the key belongs in the team the deploy has yet to make;
    and a tier move's carried-over spend whose budget window has reset (`end-carry`: a scoped
    deploy never reads such a member). Everything else is git's, and waits for the deploy job."""
    action = diff.action(schedule)
    if action is None:
        return None
    delta = diff.key_delta(schedule)
    steps: list[Step] = []
    changes: list = []
    keys = diff.keys_settled and (delta.rotated or delta.retired) and {s.op for s in delta.steps} <= rotation.KEY_OPS
    if diff.carry_ended:
        steps += diff.row[0]
        changes += diff.row[1]
    if keys:
        steps += delta.steps
        changes += delta.changes
    if not steps:
        return None
    kind = ("rotate" if delta.rotated else "retire") if keys else "end-carry"
    return replace(action, kind=kind, steps=steps, changes=changes, counts=delta.counts() if keys else {})


class NightlyOnly:
    """Keeps only key rotations and retirements (and ended carries); the safety limits then count only
    those, and everything else waits for the deploy job."""

    def process(self, draft: Draft) -> None:
        kept: list[Action] = []
        others: list[Action] = []
        left = 0
        for a in draft.actions:
            diff = draft.users.get(a.target) if a.kind != "revoke" else None
            if diff is None:
                others.append(a)
                continue
            part = nightly_part(diff)
            if part is None or len(part.steps) < len(a.steps):
                left += 1
            if part is not None:
                kept.append(part)
        # Tiers and the viewer: only what rotation.only_rotations keeps; no revocation.
        revokes = sum(1 for a in others if a.kind == "revoke")
        keep, not_kept = rotation.only_rotations([a for a in others if a.kind != "revoke"])
        left += not_kept + revokes
        draft.actions = keep + kept
        draft.user_part = nightly_part
        draft.inputs["rotation_only"] = True
        if left:
            draft.warnings.append(f"{left} other change(s) are left for the deploy job (`gatewayctl apply`)")


@dataclass(frozen=True)
class Prune:
    """With `enabled` (--prune-unmanaged), the removal of out-of-band keys and memberships is part of
    the actions; without it they stay drift to report."""

    enabled: bool = False

    def process(self, draft: Draft) -> None:
        draft.inputs["prune_unmanaged"] = self.enabled
        if self.enabled:
            draft.actions += [a for a in draft.out_of_band if a.kind == "prune"]
            draft.out_of_band = [a for a in draft.out_of_band if a.kind != "prune"]


class Deferral:
    """Scheduled rotations and retirements are not urgent: where they would take a run over the
    rotation limit or the total, the excess waits for the next runs (users in id order) instead of
    refusing the run, so keys that all fall due on one day roll over a few nights."""

    def process(self, draft: Draft) -> None:
        # index in actions -> (the user's part without scheduled work, the scheduled work's share)
        extra: dict[int, tuple[Action | None, int]] = {}
        for i, a in enumerate(draft.actions):
            diff = draft.users.get(a.target) if a.kind != "revoke" else None
            if diff is None or not a.counts.get("rotation"):
                continue
            base = draft.user_part(diff, False)
            n = a.counts["rotation"] - (base.counts.get("rotation", 0) if base else 0)
            if n > 0:
                extra[i] = (base, n)
        if not extra:
            return
        deferred = self._defer(draft, extra)
        if deferred:
            limits, population = draft.context.limits, draft.population
            draft.warnings.append(
                f"{deferred} user(s)' scheduled key rotation or retirement wait for a later run: this run already "
                f"reaches the safety limit (at most {limits.limit('rotation', population)} rotations of "
                f"{population} managed keys; {FLAGS['rotation']} does all now)")

    @staticmethod
    def _defer(draft: Draft, extra: dict[int, tuple[Action | None, int]]) -> int:
        """Swaps in the unscheduled part where the room under the limits runs out; how many users wait."""
        actions, limits = draft.actions, draft.context.limits
        scheduled = sum(n for _, n in extra.values())
        room = []
        for kind in ("rotation", "total"):
            if not limits.allowed(kind):
                fixed = sum(a.counts.get(k, 0) for a in actions for k in (KINDS if kind == "total" else (kind,)))
                room.append(limits.limit(kind, draft.population) - (fixed - scheduled))
        left = min(room, default=scheduled)
        deferred = 0
        kept: list[Action | None] = list(actions)
        for i in sorted(extra, key=lambda i: actions[i].target):
            base, n = extra[i]
            if n <= left:
                left -= n
            else:
                kept[i] = base  # None: nothing else to do for this user
                deferred += 1
        draft.actions = [a for a in kept if a is not None]
        return deferred


def standard(*, prune_unmanaged: bool = False, rotation_only: bool = False) -> list[Processor]:
    """The processors of a plan or apply (`rotation_only`: of `gatewayctl rotate`), in their order."""
    return [*([NightlyOnly()] if rotation_only else []), Prune(prune_unmanaged), Deferral()]
