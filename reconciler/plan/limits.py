"""Safety limits: how many destructive changes one run may make before it needs a human's flag.

Every change that takes access away or replaces a key counts, by kind:
  revocation  a key (or, without keys, the team membership) of a user who left users/ or expired
  rotation    a key replaced by a new one (asked for, due by the tier's key_max_age_days, or because its
              secret is missing or differs), or a retired key deleted after its overlap window
  move        a user moved to another tier, or to another team of their tier after its `teams` changed (the
              old team membership and its spend row go; the month's spend is carried)
  prune       a key or team membership that gatewayctl did not issue, or a duplicate of a user's key
and all of them together count toward a total.

The rule, per kind: at most min(max_<kind>, max(1, floor(fraction x managed keys))) in one run; the
total: at most min(max_changes, max(1, floor(total_fraction x managed keys))). So one change of
each kind is always allowed (one user may leave a gateway of one user), and the defaults allow
25% per kind and 50% in total. A run over any limit is refused as a whole (exit 3); each limit is
lifted only by its own flag (--allow-mass-<kind>, --allow-mass-change for the total). Scheduled
rotations and retirements are the exception: they are not urgent, so the ones beyond a limit wait
for the next run instead (reconciler/plan/processors.py, Deferral).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

KINDS = ("revocation", "rotation", "move", "prune")
VERBS = {"revocation": "revoke", "rotation": "rotate", "move": "move", "prune": "prune"}
OBJECTS = {"move": "users to another tier (or team of their tier)",
           "prune": "keys or memberships gatewayctl did not issue"}
FLAGS = {"revocation": "--allow-mass-revocation", "rotation": "--allow-mass-rotation",
         "move": "--allow-mass-move", "prune": "--allow-mass-prune", "total": "--allow-mass-change"}


@dataclass
class SafetyLimits:
    max_revocations: int = 10
    max_fraction: float = 0.25  # per kind, of the managed keys
    allow_mass_revocation: bool = False
    max_rotations: int = 10
    max_moves: int = 10
    max_prunes: int = 10
    max_changes: int = 25
    max_total_fraction: float = 0.5
    allow_mass_rotation: bool = False
    allow_mass_move: bool = False
    allow_mass_prune: bool = False
    allow_mass_change: bool = False

    def cap(self, kind: str) -> int:
        return {"revocation": self.max_revocations, "rotation": self.max_rotations, "move": self.max_moves,
                "prune": self.max_prunes, "total": self.max_changes}[kind]

    def allowed(self, kind: str) -> bool:
        return {"revocation": self.allow_mass_revocation, "rotation": self.allow_mass_rotation,
                "move": self.allow_mass_move, "prune": self.allow_mass_prune,
                "total": self.allow_mass_change}[kind]

    def limit(self, kind: str, population: int) -> int:
        fraction = self.max_total_fraction if kind == "total" else self.max_fraction
        return min(self.cap(kind), max(1, math.floor(fraction * population)))

    def overrides(self) -> list[str]:
        """The override flags in force, for the plan file and the audit record."""
        return [FLAGS[k] for k in (*KINDS, "total") if self.allowed(k)]


def refusal(counts: dict[str, int], population: int, limits: SafetyLimits, *, hint: str = "") -> str | None:
    """Why the run is refused, naming every exceeded limit and its flag, or None."""
    reasons = []
    for kind in KINDS:
        n = counts.get(kind, 0)
        limit = limits.limit(kind, population)
        if n > limit and not limits.allowed(kind):
            what = f"{n} of {population} managed keys" if kind in ("revocation", "rotation") else f"{n} {OBJECTS[kind]}"
            reasons.append(f"refusing to {VERBS[kind]} {what} in one run (limit {limit}: at most {limits.cap(kind)} "
                           f"and {limits.max_fraction:.0%} of the {population} managed keys, minimum 1); "
                           f"re-run with {FLAGS[kind]} if this is intended")
    total = sum(counts.get(k, 0) for k in KINDS)
    limit = limits.limit("total", population)
    if total > limit and not limits.allowed("total"):
        reasons.append(f"refusing {total} destructive changes in one run with {population} managed keys (limit "
                       f"{limit}: at most {limits.max_changes} and {limits.max_total_fraction:.0%} of managed keys, "
                       f"minimum 1); re-run with {FLAGS['total']} if this is intended")
    if not reasons:
        return None
    return "; ".join(reasons) + (f" ({hint})" if hint else "")
