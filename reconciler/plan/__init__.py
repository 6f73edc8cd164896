"""Diff desired state against live state into an ordered list of actions: the plan.

One module per entity (tiers, users, keys, the plan-viewer, revocations, out-of-band), a core that
runs the diff and then processors over it (reconciler/plan/core.py, processors.py), and the review a
person reads beside it (review.py). `build_plan(desired, live, context, processors)` is the way in;
tier teams are named by reconciler/desired/shards.py, the one layout this package is given.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.desired import shards
from reconciler.desired.policy import DesiredState
from reconciler.live.state import LiveState
from reconciler.plan import core
from reconciler.plan.context import PlanContext
from reconciler.plan.core import Draft, Processor, desired_digest
from reconciler.plan.keys import USER_KEY_ROUTES, key_expiry
from reconciler.plan.limits import SafetyLimits
from reconciler.plan.model import ACTION_KINDS, Action, Plan, Step
from reconciler.plan.processors import standard
from reconciler.plan.review import PlanReport, review
from reconciler.plan.viewer import SERVICE_IDS, SERVICE_MARKER, SPEND_READER, VIEWER_ID

__all__ = ["ACTION_KINDS", "SERVICE_IDS", "SERVICE_MARKER", "SPEND_READER", "USER_KEY_ROUTES", "VIEWER_ID", "Action",
           "Draft", "Plan", "PlanContext", "PlanReport", "Processor", "SafetyLimits", "Step", "build_plan",
           "desired_digest", "key_expiry", "review", "standard"]


def build_plan(desired: DesiredState, live: LiveState, context: PlanContext,
               processors: Iterable[Processor] | None = None) -> Plan:
    """The plan that makes `live` grant what `desired` says. `processors` (default: `standard()`, a
    plan without --prune-unmanaged) change the diff, in order, before the safety limits are checked."""
    return core.build_plan(desired, live, context, standard() if processors is None else processors, shards)
