"""Scheduled rotation planned on plain data (reconciler/plan/rotation.py + reconciler/plan/): no gateway, no I/O.

The genuine-proxy behaviour (both keys answer inside the window, the old one is refused after it,
SIGKILL mid-rotation) is in tests/test_rotation.py; here every crash state is built by hand and
planned, which covers each of them deterministically."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from test_plan_unit import MARK, converged, plan_for, user

from reconciler.desired.policy import DesiredState, Model, Tier, end_of_day_utc
from reconciler.live.keystore import key_hash
from reconciler.live.state import LiveMembership, LiveState
from reconciler.plan import SafetyLimits, rotation
from reconciler.plan.keys import USER_KEY_ROUTES

ISSUED = dt.date(2026, 1, 1)


def desired_rotating(*users, max_age: int | None = 90, overlap: int = 7) -> DesiredState:
    models = {"model-cheap": Model("model-cheap", "Haiku", "global.x"),
              "model-balanced": Model("model-balanced", "Sonnet", "global.y")}
    tiers = {"drafting": Tier("drafting", "Drafting", Decimal("2.00"), 10, ("model-cheap",),
                          key_max_age_days=max_age, key_rotation_overlap_days=overlap),
             "coding": Tier("coding", "Coding", Decimal("20.00"), 50, ("model-balanced",),
                        key_max_age_days=max_age, key_rotation_overlap_days=overlap)}
    return DesiredState("ap-south-1", models, tiers, {u.id: u for u in users})


def issued(live: LiveState, on: dt.date = ISSUED) -> LiveState:
    live.keys = [dataclasses.replace(k, metadata={**k.metadata, rotation.ISSUED_ON: on.isoformat()}) for k in live.keys]
    return live


def plan_on(day: dt.date, d: DesiredState, live: LiveState, **kw):
    return plan_for(d, live, today=day, **kw)


def after_rotation(live: LiveState, uid: str, day: dt.date, until: dt.date) -> tuple[LiveState, str]:
    """The live state a finished scheduled rotation of `uid` on `day` leaves."""
    old = next(k for k in live.keys if k.user_id == uid)
    retiring = dataclasses.replace(old, alias=old.alias + "~retiring",
                                   metadata={**old.metadata, rotation.RETIRE_AFTER: until.isoformat()},
                                   expires=end_of_day_utc(until))
    new_token = key_hash(f"sk-new-{uid}")
    new = dataclasses.replace(old, token=new_token, metadata={**MARK, "gitops_user_id": uid,
                                                              rotation.ISSUED_ON: day.isoformat()})
    live.keys = [k for k in live.keys if k is not old] + [retiring, new]
    live.secrets[uid] = new_token
    live.retiring[uid] = old.token  # the key store names the retiring key
    return live, old.token


def test_young_keys_are_not_due():
    d = desired_rotating(user("ann"))
    assert plan_on(ISSUED + dt.timedelta(days=89), d, issued(converged(user("ann")))).actions == []


def test_a_due_key_is_shown_and_rotated_with_an_overlap_window():
    d = desired_rotating(user("ann"))
    day = ISSUED + dt.timedelta(days=90)
    live = issued(converged(user("ann")))
    old = live.keys[0].token
    (action,) = plan_on(day, d, live).actions
    assert action.kind == "rotate" and action.target == "user:ann"
    assert action.changes == [("key", old[:12] + "…",
                               "new key (key is 90 days old, tier maximum 90); the old key works until 2026-04-08")]
    retire, create = action.steps
    assert retire.op == "key_update" and retire.args["key"] == old and retire.args["key_alias"] == "u-ann~retiring"
    assert retire.args["metadata"][rotation.RETIRE_AFTER] == "2026-04-08"
    assert retire.args["metadata"]["managed_by"] == MARK["managed_by"]  # metadata is replaced wholesale
    assert retire.args["expires_at"] == "2026-04-08T18:30:00+00:00"  # midnight Asia/Kolkata
    assert create.op == "key_create" and create.args["key_alias"] == "u-ann"
    assert create.args["metadata"][rotation.ISSUED_ON] == day.isoformat()
    assert "key_delete" not in [s.op for s in action.steps]  # the old key stays through the window


def test_inside_the_window_nothing_changes_and_after_it_the_old_key_goes():
    d = desired_rotating(user("ann"))
    day = ISSUED + dt.timedelta(days=90)
    live, old = after_rotation(issued(converged(user("ann"))), "ann", day, day + dt.timedelta(days=7))
    for later in (day, day + dt.timedelta(days=7)):
        assert plan_on(later, d, live).actions == [], later
    (action,) = plan_on(day + dt.timedelta(days=8), d, live).actions
    assert action.kind == "retire"
    assert [(s.op, s.args) for s in action.steps] == [("key_delete", {"keys": [old]})]


def test_crash_after_the_rename_resumes_the_rotation():
    d = desired_rotating(user("ann"))
    day = ISSUED + dt.timedelta(days=90)
    live = issued(converged(user("ann")))
    k = live.keys[0]
    live.keys = [dataclasses.replace(k, alias="u-ann~retiring", metadata={**k.metadata, rotation.RETIRE_AFTER: "x"})]
    (action,) = plan_on(day, d, live).actions  # the store still holds this key: it is current, not retiring
    assert [s.op for s in action.steps] == ["key_update", "key_create"]
    assert action.steps[0].args["key_alias"] == "u-ann~retiring"


def test_crash_after_the_secret_write_keeps_the_old_key_and_mints_a_key():
    d = desired_rotating(user("ann"))
    day = ISSUED + dt.timedelta(days=90)
    live, _old = after_rotation(issued(converged(user("ann"))), "ann", day, day + dt.timedelta(days=7))
    live.keys = [k for k in live.keys if k.alias == "u-ann~retiring"]  # /key/generate never ran
    (action,) = plan_on(day, d, live).actions
    assert [s.op for s in action.steps] == ["key_create"]
    # It finishes a rotation: the nightly job does it, not only the next deploy (seen on the proxy
    # as a SIGKILL between the rename and /key/generate that `rotate` never repaired).
    assert action.kind == "rotate" and action.counts == {"rotation": 1}
    nightly = plan_on(day, d, live, rotation_only=True)
    assert [a.target for a in nightly.actions] == ["user:ann"] and nightly.warnings == []


def test_an_unfinished_retirement_is_undone_when_no_longer_due():
    d = desired_rotating(user("ann"), max_age=None)  # policy changed after a crash mid-rotation
    live = issued(converged(user("ann")))
    k = live.keys[0]
    live.keys = [dataclasses.replace(k, alias="u-ann~retiring", expires="2026-04-07T18:30:00+00:00",
                                     metadata={**k.metadata, rotation.RETIRE_AFTER: "2026-04-07"})]
    (action,) = plan_on(ISSUED + dt.timedelta(days=90), d, live).actions
    fix, rename = action.steps
    assert fix.args["expires_at"] is None and rotation.RETIRE_AFTER not in fix.args["metadata"]
    assert ("key.gitops_retire_after", "2026-04-07", None) in action.changes
    assert rename.args == {"key": k.token, "key_alias": "u-ann"}


def test_requested_rotation_stays_immediate():
    d = desired_rotating(user("ann"))
    live = issued(converged(user("ann")))
    (action,) = plan_on(ISSUED, d, live, rotate=frozenset({"ann"})).actions
    assert [s.op for s in action.steps] == ["key_update", "key_create", "key_delete"]


def test_overlap_never_outlives_the_users_own_expiry():
    ann = user("ann", expires=ISSUED + dt.timedelta(days=92))
    d = desired_rotating(ann)
    (action,) = plan_on(ISSUED + dt.timedelta(days=90), d, issued(converged(ann))).actions
    assert action.steps[0].args["expires_at"] == end_of_day_utc(ann.expires)


def test_keys_without_issued_on_age_from_litellm_created_at():
    d = desired_rotating(user("ann"))
    live = converged(user("ann"))
    live.keys = [dataclasses.replace(live.keys[0], created_at="2026-01-01T10:00:00Z")]
    assert plan_on(dt.date(2026, 3, 31), d, live).actions == []
    assert plan_on(dt.date(2026, 4, 1), d, live).actions[0].kind == "rotate"


def test_a_tier_move_inside_the_window_takes_the_retiring_key_along():
    day = ISSUED + dt.timedelta(days=90)
    live, old = after_rotation(issued(converged(user("ann"))), "ann", day, day + dt.timedelta(days=7))
    (action,) = plan_on(day, desired_rotating(user("ann", "coding")), live).actions
    moved = [s.args["key"] for s in action.steps if s.op == "key_update" and s.args.get("team_id") == "tier-coding"]
    assert old in moved and len(moved) == 2
    ops = [s.op for s in action.steps]
    assert ops.index("member_delete") > max(i for i, op in enumerate(ops) if op == "key_update")


def test_rotation_only_filter_keeps_rotations_and_leaves_the_rest():
    day = ISSUED + dt.timedelta(days=90)
    d = desired_rotating(user("ann"), user("ben", "coding"))
    live = issued(converged(user("ann"), user("ben")))  # ben moves tier: not a rotation
    plan = plan_on(day, d, live, limits=SafetyLimits(allow_mass_rotation=True, allow_mass_change=True))
    keep, left = rotation.only_rotations(plan.actions)
    assert [a.target for a in keep] == ["user:ann"] and left == 1
    # `gatewayctl rotate`: the move is not counted toward the limits of the rotation run at all.
    nightly = plan_on(day, d, live, rotation_only=True)
    assert [a.target for a in nightly.actions] == ["user:ann"] and nightly.refused is None
    assert nightly.counts["move"] == 0 and any("left for the deploy job" in w for w in nightly.warnings)
    assert nightly.inputs["rotation_only"] is True


# ---------------------------------------------------------------- with issue #10: the key store names the keys


def test_the_retiring_key_is_neither_drift_nor_pruned_inside_its_window():
    d = desired_rotating(user("ann"))
    day = ISSUED + dt.timedelta(days=90)
    live, old = after_rotation(issued(converged(user("ann"))), "ann", day, day + dt.timedelta(days=7))
    for later in (day, day + dt.timedelta(days=7)):
        plan = plan_on(later, d, live, prune_unmanaged=True)
        assert plan.actions == [] and plan.out_of_band == [] and not plan.has_changes, later
    # After the window the rotation logic deletes it, and that deletion counts as a rotation.
    (action,) = plan_on(day + dt.timedelta(days=8), d, live, prune_unmanaged=True).actions
    assert action.kind == "retire" and action.counts == {"rotation": 1}
    assert action.steps[0].args == {"keys": [old]}


def test_a_key_that_only_claims_to_be_retiring_is_an_extra_key():
    """Metadata is not trusted: a key marked `gitops_retire_after` whose hash the key store does not
    record as retiring (one its holder minted and labelled, say) is deleted like any extra key."""
    d = desired_rotating(user("ann"))
    day = ISSUED + dt.timedelta(days=90)
    live, _old = after_rotation(issued(converged(user("ann"))), "ann", day, day + dt.timedelta(days=7))
    live.retiring.clear()  # the store names no retiring key
    (action,) = plan_on(day, d, live).actions
    assert action.kind == "update" and action.counts == {"prune": 1}
    assert [s.op for s in action.steps] == ["key_delete"] and ("extra keys", 1, 0) in action.changes
    forged = dataclasses.replace(live.keys[0], token="f" * 64)
    live, _old = after_rotation(issued(converged(user("ann"))), "ann", day, day + dt.timedelta(days=7))
    live.keys += (forged,)  # a second, self-labelled "retiring" key next to the real one
    (action,) = plan_on(day, d, live).actions
    assert [(s.op, s.args) for s in action.steps] == [("key_delete", {"keys": [forged.token]})]


def test_a_scheduled_rotation_records_the_retiring_key_and_a_repair_keeps_that_record():
    d = desired_rotating(user("ann"))
    day = ISSUED + dt.timedelta(days=90)
    live = issued(converged(user("ann")))
    old = live.keys[0].token
    (action,) = plan_on(day, d, live).actions
    assert action.steps[-1].op == "key_create" and action.steps[-1].args[rotation.RETIRING_HASH_ARG] == old
    live, old = after_rotation(live, "ann", day, day + dt.timedelta(days=7))
    live.secrets["ann"] = None  # the new key's secret lost inside the window: repaired at once
    (repair,) = plan_on(day + dt.timedelta(days=1), d, live).actions
    create = next(s for s in repair.steps if s.op == "key_create")
    assert create.args[rotation.RETIRING_HASH_ARG] == old  # the old key keeps its window
    assert old not in [k for s in repair.steps if s.op == "key_delete" for k in s.args["keys"]]


def test_the_retiring_key_keeps_the_current_keys_limits_and_its_window_end():
    d = desired_rotating(user("ann"))
    day = ISSUED + dt.timedelta(days=90)
    live, old = after_rotation(issued(converged(user("ann"))), "ann", day, day + dt.timedelta(days=7))
    i = next(i for i, k in enumerate(live.keys) if k.token == old)
    keys = list(live.keys)
    keys[i] = dataclasses.replace(keys[i], allowed_routes=None, expires=None)  # changed by hand
    live.keys = keys
    (action,) = plan_on(day, d, live).actions
    (fix,) = action.steps
    assert fix.args == {"key": old, "allowed_routes": list(USER_KEY_ROUTES),
                        "expires_at": end_of_day_utc(day + dt.timedelta(days=7))}


def _due_users(n: int):
    users = [user(f"u{i:02d}") for i in range(n)]
    return desired_rotating(*users), issued(converged(*users))


def test_scheduled_rotations_beyond_the_limit_wait_for_the_next_runs():
    d, live = _due_users(12)  # 12 managed keys: at most max(1, floor(25% x 12)) = 3 rotations per run
    day = ISSUED + dt.timedelta(days=90)
    plan = plan_on(day, d, live)
    assert plan.refused is None and plan.counts["rotation"] == 3
    assert [a.target for a in plan.actions] == ["user:u00", "user:u01", "user:u02"]
    assert any("9 user(s)' scheduled key rotation" in w and "--allow-mass-rotation" in w for w in plan.warnings)
    assert plan_on(day, d, live).actions == plan.actions  # deterministic: a saved plan recomputes the same
    lifted = plan_on(day, d, live, limits=SafetyLimits(allow_mass_rotation=True))
    assert lifted.counts["rotation"] == 6 and lifted.refused is None  # now the total (50%) is the limit
    everything = plan_on(day, d, live, limits=SafetyLimits(allow_mass_rotation=True, allow_mass_change=True))
    assert everything.counts["rotation"] == 12


def test_urgent_rotations_are_still_refused_over_the_limit():
    d, live = _due_users(12)
    live.secrets = {}  # an empty key-store listing: every key looks undelivered, nothing is "scheduled"
    plan = plan_on(ISSUED + dt.timedelta(days=90), d, live)
    assert plan.refused and "--allow-mass-rotation" in plan.refused and "lists no secret" in plan.refused
    # ... and they leave no room for scheduled ones.
    d, live = _due_users(12)
    for uid in ("u05", "u06", "u07"):
        live.secrets[uid] = "0" * 64  # three keys whose secret does not match: replaced now
    plan = plan_on(ISSUED + dt.timedelta(days=90), d, live)
    assert plan.refused is None and sorted(a.target for a in plan.actions) == ["user:u05", "user:u06", "user:u07"]


@pytest.mark.parametrize("overlap", [0, 30])
def test_window_end_is_inclusive_in_asia_kolkata(overlap):
    day = dt.date(2026, 6, 1)
    until = rotation.window_end(rotation.RotationPolicy(90, overlap), day)
    assert until == day + dt.timedelta(days=overlap)
    assert end_of_day_utc(until).endswith("T18:30:00+00:00")


def test_a_retiring_key_is_part_of_its_users_access_for_the_limits():
    """Offboarding a user inside their window deletes both keys but counts one revocation, and the
    retiring keys do not inflate the managed-key count the limits are a fraction of."""
    day = ISSUED + dt.timedelta(days=90)
    live = issued(converged(user("ann"), user("ben")))
    for uid in ("ann", "ben"):
        live, _old = after_rotation(live, uid, day, day + dt.timedelta(days=7))
    plan = plan_on(day + dt.timedelta(days=1), desired_rotating(user("ann")), live)
    (revoke,) = plan.actions
    assert revoke.target == "user:ben" and len(revoke.steps[0].args["keys"]) == 2
    assert revoke.counts == {"revocation": 1} and plan.managed_key_count == 2 and plan.refused is None


def test_the_nightly_job_rotates_a_due_key_and_ends_a_carry_together():
    # A scoped deploy never reads ann again: if either half waited for it, it would wait for good.
    day = ISSUED + dt.timedelta(days=90)
    now = dt.datetime.combine(day, dt.time(12, 0), tzinfo=dt.UTC)
    d = desired_rotating(user("ann", "coding"))
    live = issued(converged(user("ann", "coding")))
    u = live.users["ann"]
    carry = {"team_id": "tier-coding", "usd": "1.50", "until": "2026-03-31T18:30:00+00:00"}
    live.users["ann"] = dataclasses.replace(u, metadata={**u.metadata, "budget_carry": carry})
    live.memberships["tier-coding"] = {"ann": LiveMembership("ann", "tier-coding", Decimal("0"), True,
                                                             Decimal("18.50"), 50, "1mo")}
    (full,) = plan_on(day, d, live, now=now).actions
    (nightly,) = plan_on(day, d, live, now=now, rotation_only=True).actions
    assert full.kind == nightly.kind == "rotate"
    assert [s.op for s in nightly.steps] == [s.op for s in full.steps]
    ops = [s.op for s in nightly.steps]
    assert ops[0] == "member_budget_reset" and "key_create" in ops


def test_requested_rotation_inside_the_window_deletes_the_retiring_key_first_and_records_none():
    """A leak the day after a scheduled rotation: both keys end now. The retiring key goes first (the
    current key is renamed to its alias), and the new key's secret names no retiring key."""
    d = desired_rotating(user("ann"))
    day = ISSUED + dt.timedelta(days=90)
    live, old = after_rotation(issued(converged(user("ann"))), "ann", day, day + dt.timedelta(days=7))
    current = live.secrets["ann"]
    (action,) = plan_on(day + dt.timedelta(days=1), d, live, rotate=frozenset({"ann"})).actions
    assert action.kind == "rotate"
    assert [(s.op, s.args.get("keys")) for s in action.steps] == [
        ("key_delete", [old]), ("key_update", None), ("key_create", None), ("key_delete", [current])]
    assert rotation.RETIRING_HASH_ARG not in action.steps[2].args
    assert ("retiring key", old[:12] + "…", "deleted (rotation requested)") in action.changes
    # A crash after the rename: the requested rotation still ends the retiring key.
    live.keys = [k for k in live.keys if k.token != current]
    (resumed,) = plan_on(day + dt.timedelta(days=1), d, live, rotate=frozenset({"ann"})).actions
    assert [s.op for s in resumed.steps] == ["key_delete", "key_create"] and resumed.kind == "rotate"
    assert rotation.RETIRING_HASH_ARG not in resumed.steps[1].args


def test_revocation_inside_the_window_deletes_the_retiring_key_too():
    day = ISSUED + dt.timedelta(days=90)
    live, old = after_rotation(issued(converged(user("ann"))), "ann", day, day + dt.timedelta(days=7))
    current = live.secrets["ann"]
    (action,) = plan_on(day + dt.timedelta(days=1), desired_rotating(), live).actions
    assert action.kind == "revoke"
    assert sorted(action.steps[0].args["keys"]) == sorted([old, current])
