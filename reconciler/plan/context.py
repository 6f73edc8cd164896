"""What a plan is made with besides the files and the gateway: the date and clock, the commit,
what the operator asked for, and the safety limits. Built once per run; the diff only reads it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.desired.policy import MANAGED_BY
from reconciler.plan.limits import SafetyLimits


class TeamLayout(Protocol):
    """How a tier's LiteLLM teams are named (reconciler/desired/shards.py): the diff asks, never parses."""

    def tier_of(self, team: str) -> str | None:
        """The tier key of a tier team id (any of its teams), None for any other team."""

    def label(self, team: str) -> str:
        """A tier team as plans name it: `coding`, `coding.1`."""


@dataclass
class PlanContext:
    today: dt.date  # the plan's date: expiry, budget exceptions, key ages
    commit: str  # recorded in what the plan creates
    # decides whether spend carried over a tier move is still in its window (default: the clock)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    rotate: frozenset[str] = frozenset()  # ids whose key is replaced now (--rotate)
    adopt: bool = False  # take over LiteLLM users that match users/ but lack gatewayctl's marker
    plan_viewer: bool = False  # also manage the read-only key PR plans use; without it that key is ignored
    spend_reader: bool = False  # also manage the key the monthly chargeback reads spend with; likewise
    limits: SafetyLimits = field(default_factory=SafetyLimits)

    def __post_init__(self) -> None:
        self.rotate = frozenset(self.rotate)

    def marker(self, user_id: str | None) -> dict[str, str]:
        """The metadata that marks what gatewayctl made, and from which commit."""
        out = {"managed_by": MANAGED_BY, "git_commit": self.commit}
        if user_id is not None:
            out["gitops_user_id"] = user_id
        return out

    def inputs(self) -> dict:
        """What the plan was asked to do, as the plan file records it (apply checks it again)."""
        out = {"rotate": sorted(self.rotate), "adopt": self.adopt, "plan_viewer": self.plan_viewer,
               "today": self.today.isoformat()}
        if self.spend_reader:  # only when asked: plans saved before the flag existed still apply
            out["spend_reader"] = True
        return out
