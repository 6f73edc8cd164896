"""What a reviewer reads beside a plan, and nothing applies: what the change costs (FinOps,
reconciler/plan/commitment.py), the tiers' budget alert thresholds (reconciler/notifications/budget_alerts.py reads
them in policies/tiers.yaml), and what a scoped plan read (reconciler/plan/scope.py). Built from the plan
and what it was made from; `plan --out` and `--format json` carry it beside the plan's own fields,
outside the plan digest."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.desired.policy import DesiredState
from reconciler.live.state import LiveState
from reconciler.plan import commitment
from reconciler.plan.context import PlanContext
from reconciler.plan.model import Plan


@dataclass
class PlanReport:
    plan: Plan
    finops: dict | None = None  # what the change costs (reconciler/plan/commitment.py)
    budget_alerts: dict[str, list[int]] | None = None  # alert thresholds per tier, from policies/tiers.yaml
    # A plan scoped to the users a change touched (reconciler/plan/scope.py: Scope.to_json() plus its note);
    # None: no --changed-since. Apply checks the scope through the plan's `inputs`.
    scope: dict | None = None
    # What the plan read (not saved with it): apply's key notices work from it and the apply's results.
    live: LiveState | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict:
        return {**self.plan.to_json(), "finops": self.finops, "budget_alerts": self.budget_alerts,
                "scope": self.scope}

    @classmethod
    def from_json(cls, data: dict) -> PlanReport:
        return cls(Plan.from_json(data), finops=data.get("finops"), budget_alerts=data.get("budget_alerts"),
                   scope=data.get("scope"))


class Annotation(Protocol):
    def annotate(self, report: PlanReport) -> None:
        """Add what this part of the run knows to the report (reconciler/plan/scope.py: what was read)."""


def review(plan: Plan, desired: DesiredState, live: LiveState, context: PlanContext,
           annotations: Iterable[Annotation] = ()) -> PlanReport:
    touched = {a.target.removeprefix("user:") for a in plan.actions if a.target.startswith("user:")}
    report = PlanReport(plan, finops=commitment.summarise(desired, live, touched, context.today, context.now),
                        budget_alerts={key: list(t.alerts) for key, t in desired.tiers.items()}, live=live)
    for annotation in annotations:
        annotation.annotate(report)
    return report
