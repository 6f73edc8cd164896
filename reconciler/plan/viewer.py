"""The read-only service identities whose keys jobs use instead of the master key, each kept in the key
store like a user's key, under its own id outside the per-user prefix:
- `gatewayctl-plan-viewer` (`apply --plan-viewer`): PR plans and the nightly drift report;
- `gatewayctl-spend-reader` (`apply --spend-reader`): the monthly chargeback (`gatewayctl report`).
Both are `proxy_admin_viewer` users whose key may call only the routes listed here; what LiteLLM 1.108.7
lets each key do is measured in tests/test_service_keys.py (docs/security.md, "Service keys")."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.desired.mapping import USER_MODELS
from reconciler.live.state import LiveKey, LiveState
from reconciler.plan.context import PlanContext
from reconciler.plan.keys import HeldKeys, KeySpec, key_steps
from reconciler.plan.model import Action, Step
from reconciler.plan.steps import Op

SERVICE_MARKER = "gitops_service"  # a key without a team gets no model at all
# proxy_admin_viewer: LiteLLM scopes /spend/logs/v2 to the caller's own rows for any other non-admin role
# (internal_user_viewer sees none of the users' spend), so the spend reader needs it too; its key's
# allowed_routes are what keeps it from the viewer's other read routes.
SERVICE_ROLE = "proxy_admin_viewer"


@dataclass(frozen=True)
class ServiceAccount:
    user_id: str  # reserved id (validate rejects users/ ids starting with gatewayctl-)
    marker: str  # the value of SERVICE_MARKER in its key's metadata
    routes: tuple[str, ...]  # the key's allowed_routes: nothing else
    purpose: str


# What `gatewayctl plan` reads (/team/info: each tier's member budget rows), and /key/info for auditors;
# nothing else (no spend logs, no writes).
PLAN_VIEWER = ServiceAccount("gatewayctl-plan-viewer", "plan-viewer",
                             ("/budget/list", "/key/info", "/key/list", "/team/info", "/user/list", "/v2/team/list"),
                             "key for PR plans")
# What `gatewayctl report` reads: every spend-log row of the period, nothing else.
SPEND_READER = ServiceAccount("gatewayctl-spend-reader", "spend-reader", ("/spend/logs/v2",),
                              "key for the monthly chargeback")
SERVICE_ACCOUNTS = (PLAN_VIEWER, SPEND_READER)
SERVICE_IDS = tuple(a.user_id for a in SERVICE_ACCOUNTS)
VIEWER_ID, VIEWER_KEY_ROUTES, VIEWER_ROLE = PLAN_VIEWER.user_id, PLAN_VIEWER.routes, SERVICE_ROLE


def is_service_key(k: LiveKey) -> bool:
    return k.managed and any(k.user_id == a.user_id and k.metadata.get(SERVICE_MARKER) == a.marker
                             for a in SERVICE_ACCOUNTS)


def wanted(context: PlanContext) -> tuple[ServiceAccount, ...]:
    """The service accounts this run manages (the others are left alone, as without their flag)."""
    return tuple(a for a, on in ((PLAN_VIEWER, context.plan_viewer), (SPEND_READER, context.spend_reader)) if on)


def service_action(account: ServiceAccount, live: LiveState, context: PlanContext,
                   warnings: list[str]) -> Action | None:
    uid = account.user_id
    lu = live.users.get(uid)
    meta = {**context.marker(None), SERVICE_MARKER: account.marker}
    steps: list[Step] = []
    if lu is None:
        steps.append(Step(Op.USER_NEW, {"user_id": uid, "user_role": SERVICE_ROLE, "models": USER_MODELS,
                                       "auto_create_key": False, "metadata": meta}))
    elif not lu.managed:
        warnings.append(f"user {uid} exists but is not managed by gatewayctl; {account.marker} key not managed")
        return None
    elif lu.role != SERVICE_ROLE:
        steps.append(Step(Op.USER_UPDATE, {"user_id": uid, "user_role": SERVICE_ROLE}))
    keys = [k for k in live.keys if k.managed and k.user_id == uid and k.metadata.get(SERVICE_MARKER) == account.marker]
    spec = KeySpec(uid, uid, None, (), None, meta, account.routes)
    delta = key_steps(spec, HeldKeys(keys, live.secrets.get(uid)), uid in context.rotate)
    steps += delta.steps
    if not steps:
        return None
    kind = "create" if lu is None else ("rotate" if delta.rotated else "update")
    return Action(kind, f"service:{uid}", f"{SERVICE_ROLE} {account.purpose}", changes=delta.changes,
                  steps=steps, key_hashes=[k.token for k in keys], counts=delta.counts())
