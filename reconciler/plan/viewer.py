"""The read-only `proxy_admin_viewer` identity whose key PR plans use instead of the master key.
Its key lives in the key store like a user's, under the id `gatewayctl-plan-viewer`."""

from __future__ import annotations

from reconciler.desired.mapping import USER_MODELS
from reconciler.live.state import LiveKey, LiveState
from reconciler.plan.context import PlanContext
from reconciler.plan.keys import HeldKeys, KeySpec, key_steps
from reconciler.plan.model import Action, Step
from reconciler.plan.steps import Op

VIEWER_ID = "gatewayctl-plan-viewer"  # reserved user id (validate rejects users/ ids starting with gatewayctl-)
VIEWER_ROLE = "proxy_admin_viewer"
SERVICE_MARKER = "gitops_service"  # a key without a team gets no model at all
# What `gatewayctl plan` reads (/team/info: each tier's member budget rows), and /key/info for auditors;
# nothing else (no spend logs, no writes).
VIEWER_KEY_ROUTES = ("/budget/list", "/key/info", "/key/list", "/team/info", "/user/list", "/v2/team/list")


def is_viewer_key(k: LiveKey) -> bool:
    return k.managed and k.user_id == VIEWER_ID and bool(k.metadata.get(SERVICE_MARKER))


def viewer_action(live: LiveState, context: PlanContext, warnings: list[str]) -> Action | None:
    lu = live.users.get(VIEWER_ID)
    meta = {**context.marker(None), SERVICE_MARKER: "plan-viewer"}
    steps: list[Step] = []
    if lu is None:
        steps.append(Step(Op.USER_NEW, {"user_id": VIEWER_ID, "user_role": VIEWER_ROLE, "models": USER_MODELS,
                                       "auto_create_key": False, "metadata": meta}))
    elif not lu.managed:
        warnings.append(f"user {VIEWER_ID} exists but is not managed by gatewayctl; plan-viewer key not managed")
        return None
    elif lu.role != VIEWER_ROLE:
        steps.append(Step(Op.USER_UPDATE, {"user_id": VIEWER_ID, "user_role": VIEWER_ROLE}))
    keys = [k for k in live.keys
            if k.managed and k.user_id == VIEWER_ID and k.metadata.get(SERVICE_MARKER) == "plan-viewer"]
    spec = KeySpec(VIEWER_ID, VIEWER_ID, None, (), None, meta, VIEWER_KEY_ROUTES)
    delta = key_steps(spec, HeldKeys(keys, live.secrets.get(VIEWER_ID)), VIEWER_ID in context.rotate)
    steps += delta.steps
    if not steps:
        return None
    kind = "create" if lu is None else ("rotate" if delta.rotated else "update")
    return Action(kind, f"service:{VIEWER_ID}", f"{VIEWER_ROLE} key for PR plans", changes=delta.changes,
                  steps=steps, key_hashes=[k.token for k in keys], counts=delta.counts())
