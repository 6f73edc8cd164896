"""The fake admin API (tests/fakelitellm.py) is only worth its unit tests if it answers like LiteLLM.
Here the same plans are applied to the fake and to the genuine proxy, and reconciler.live.state must read
the same state back from both: users, tier teams and their member budgets, memberships with their own
budget rows, and keys (all but the values that are random or clock-dependent)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from pathlib import Path

import pytest
from fakelitellm import FakeLiteLLM
from helpers import reset_gateway, write_user

from reconciler.apply.executor import Executor
from reconciler.desired.validate import load_desired
from reconciler.live.client import AdminClient
from reconciler.live.keystore import FileStore
from reconciler.live.state import LiveState, read_live
from reconciler.plan import PlanContext, build_plan

pytestmark = pytest.mark.integration


def _apply(client: AdminClient, root: Path, store: FileStore, today: dt.date) -> LiveState:
    plan = build_plan(load_desired(root, today=today), read_live(client, store), PlanContext(today=today, commit="c1"))
    results = Executor(client, store, commit="c1", out=io.StringIO()).execute(plan)
    assert {r.status for r in results} <= {"ok"}, [r for r in results if r.status != "ok"]
    live = read_live(client, store)
    assert build_plan(load_desired(root, today=today), live, PlanContext(today=today, commit="c1")).actions == []
    return live


def _shape(live: LiveState) -> dict:
    """What reconciler.live.state read, without tokens, timestamps and budget ids (random or clock-bound)."""
    keys = sorted((k.alias, k.user_id, k.team_id, k.models, k.blocked, sorted(k.metadata.items()),
                   k.allowed_routes, k.expires is None) for k in live.keys)
    return {
        "teams": {t: dataclasses.replace(team, member_budget_reset_at=None) for t, team in live.teams.items()},
        "users": {u: lu for u, lu in live.users.items() if u != "default_user_id"},
        "memberships": {t: {u: dataclasses.replace(m, spend=None, budget_reset_at=None) for u, m in ms.items()}
                        for t, ms in live.memberships.items()},
        "keys": keys,
    }


def test_the_fake_reads_like_the_genuine_proxy(gateway, admin, workspace, tmp_path):
    reset_gateway(admin)
    today = dt.datetime.now(dt.UTC).date()
    fake = FakeLiteLLM()
    shapes = []
    with AdminClient(gateway.base_url, gateway.master_key) as real, fake.client() as pretend:
        for client, name in ((real, "real"), (pretend, "fake")):
            store = FileStore(tmp_path / name)
            for uid in ("alice", "bob", "carol"):
                (workspace / "users" / f"{uid}.yaml").unlink(missing_ok=True)
            write_user(workspace, "ann", "drafting")
            write_user(workspace, "ben", "coding")
            write_user(workspace, "cy", "architect")
            _apply(client, workspace, store, today)
            # a tier move, a budget exception (its own member budget row), a new name, a leaver
            write_user(workspace, "ann", "coding")
            until = (today + dt.timedelta(days=30)).isoformat()
            write_user(workspace, "ben", "coding", name="Ben Renamed",
                       extra=f"budget_exception:\n  extra_usd: 5.00\n  until: {until}\n  ticket: FIN-1\n")
            (workspace / "users" / "cy.yaml").unlink()
            shapes.append(_shape(_apply(client, workspace, store, today)))
    real_shape, fake_shape = shapes
    for part in ("teams", "users", "memberships", "keys"):
        assert fake_shape[part] == real_shape[part], part
