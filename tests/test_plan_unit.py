"""The diff on plain data: no gateway, no I/O."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

from reconciler.desired import mapping
from reconciler.desired.policy import MANAGED_BY, DesiredState, Model, Tier, User
from reconciler.live.keystore import key_hash
from reconciler.live.state import LiveKey, LiveState, LiveTeam, LiveUser
from reconciler.plan import (
    USER_KEY_ROUTES,
    Plan,
    PlanContext,
    PlanReport,
    SafetyLimits,
    build_plan,
    key_expiry,
    review,
    standard,
)

TODAY = dt.date(2026, 11, 26)
MARK = {"managed_by": MANAGED_BY}


def desired(*users: User) -> DesiredState:
    models = {"model-cheap": Model("model-cheap", "Haiku", "global.x"),
              "model-balanced": Model("model-balanced", "Sonnet", "global.y")}
    tiers = {"drafting": Tier("drafting", "Drafting", Decimal("2.00"), 10, ("model-cheap",)),
             "coding": Tier("coding", "Coding", Decimal("20.00"), 50, ("model-balanced",))}
    return DesiredState("ap-south-1", models, tiers, {u.id: u for u in users})


def user(uid: str, tier: str = "drafting", expires: dt.date | None = None) -> User:
    return User(uid, uid.title(), f"{uid}@example.com", tier, "boss@example.com", "CC-1", "because reasons",
                expires, f"users/{uid}.yaml")


def held(obj) -> dict:
    """The top-level LiteLLM fields of `obj` as reading live state records them after an apply."""
    return {s.litellm: getattr(obj, name) for name, s in mapping.synced(type(obj)) if s.litellm} | mapping.FIXED[
        type(obj)]


def converged(*users: User) -> LiveState:
    """The live state a successful apply of `users` leaves behind."""
    state = LiveState()
    for tier in desired().tiers.values():
        state.teams[tier.team_id] = LiveTeam(tier.team_id, held(tier), True)
    keys = []
    for u in users:
        meta = {**MARK, "gitops_user_id": u.id, "git_commit": "c0", **mapping.metadata(u)}
        state.users[u.id] = LiveUser(u.id, held(u), (f"tier-{u.tier}",), meta, True)
        token = key_hash("sk-" + u.id)
        keys.append(LiveKey(token, u.key_alias, u.id, f"tier-{u.tier}", ("all-team-models",), False,
                            {**MARK, "gitops_user_id": u.id}, True, key_expiry(u), USER_KEY_ROUTES))
        state.secrets[u.id] = token
    state.keys = keys
    return state


def report_for(d: DesiredState, live: LiveState, *, today: dt.date = TODAY, prune_unmanaged: bool = False,
               rotation_only: bool = False, **context) -> PlanReport:
    """The plan `gatewayctl plan` makes with these options (`context`: PlanContext's fields), and its review."""
    made_with = PlanContext(today=today, commit="c1", **context)
    plan = build_plan(d, live, made_with, standard(prune_unmanaged=prune_unmanaged, rotation_only=rotation_only))
    return review(plan, d, live, made_with)


def plan_for(d: DesiredState, live: LiveState, **kw) -> Plan:
    return report_for(d, live, **kw).plan


def test_converged_state_plans_nothing():
    users = [user("ann"), user("ben", "coding", dt.date(2027, 1, 31))]
    p = plan_for(desired(*users), converged(*users))
    assert p.actions == [] and p.warnings == []


def test_move_tier_steps_in_safe_order():
    live = converged(user("ann"))
    p = plan_for(desired(user("ann", "coding")), live)
    (action,) = p.actions
    assert action.kind == "move" and action.changes[0] == ("tier", "drafting", "coding")
    assert [s.op for s in action.steps] == ["user_update", "member_add", "key_update", "member_delete"]
    assert action.steps[2].args == {"key": key_hash("sk-ann"), "team_id": "tier-coding"}


def test_half_done_move_only_finishes():
    live = converged(user("ann"))
    u = live.users["ann"]
    live.users["ann"] = dataclasses.replace(u, teams=("tier-coding", "tier-drafting"),
                                            metadata={**u.metadata, "tier": "coding"})
    k = live.keys[0]
    live.keys = [LiveKey(k.token, k.alias, k.user_id, "tier-coding", k.models, False, k.metadata, True,
                         allowed_routes=USER_KEY_ROUTES)]
    (action,) = plan_for(desired(user("ann", "coding")), live).actions
    assert [s.op for s in action.steps] == ["member_delete"]


def test_secret_mismatch_rotates_secret_first():
    live = converged(user("ann"))
    live.secrets["ann"] = "somethingelse"
    (action,) = plan_for(desired(user("ann")), live).actions
    assert action.kind == "rotate"
    assert [s.op for s in action.steps] == ["key_update", "key_create", "key_delete"]
    assert action.steps[0].args["key_alias"] == "u-ann~retiring"


def test_duplicate_keys_after_a_crash_are_cleaned_up():
    live = converged(user("ann"))
    live.keys += (LiveKey("dead" * 16, "u-ann~retiring", "ann", "tier-drafting", ("all-team-models",), False,
                             {**MARK, "gitops_user_id": "ann"}, True),)
    (action,) = plan_for(desired(user("ann")), live).actions
    assert [(s.op, s.args) for s in action.steps] == [("key_delete", {"keys": ["dead" * 16]})]


def test_revocations_and_the_safety_limit():
    users = [user(f"u{i}") for i in range(8)]
    live = converged(*users)
    p = plan_for(desired(*users[:6]), live)
    assert [a.kind for a in p.actions] == ["revoke", "revoke"] and p.refused is None
    p = plan_for(desired(*users[:4]), live)
    assert p.revocation_count == 4 and "refusing to revoke 4 of 8" in p.refused
    p = plan_for(desired(*users[:4]), live, limits=SafetyLimits(allow_mass_revocation=True))
    assert p.refused is None


def test_expired_user_is_revoked_with_reason():
    u = user("ann", expires=dt.date(2026, 11, 25))
    (action,) = plan_for(desired(u), converged(u)).actions
    assert action.kind == "revoke" and action.reason == "expired on 2026-11-25"


def test_expiry_instant_is_midnight_kolkata():
    assert key_expiry(user("ann", expires=dt.date(2027, 6, 30))) == "2027-06-30T18:30:00+00:00"


def test_unmanaged_objects_are_drift_but_not_touched():
    live = converged()
    live.users["ann"] = LiveUser("ann", {"user_email": "ann@example.com"}, (), {}, False)
    live.keys += (LiveKey("f" * 64, "hand-made", None, None, (), False, {}, False),)
    p = plan_for(desired(user("ann")), live)
    assert p.actions == [] and p.has_changes
    found = {(a.kind, a.target): a.reason for a in p.out_of_band}
    assert "exists in LiteLLM but is not managed by gatewayctl" in found[("report", "user:ann")]
    assert found[("prune", "key:hand-made")] == "key without a user not issued by gatewayctl"
    shadow = converged()
    shadow.teams["tier-coding"] = LiveTeam("tier-coding", {"team_alias": "Someone's"}, False)
    (team,) = [a for a in plan_for(desired(user("ann")), shadow).out_of_band if a.target == "team:tier-coding"]
    assert team.kind == "report" and "did not create it" in team.reason
    pruned = plan_for(desired(user("ann")), live, prune_unmanaged=True)
    assert [(a.kind, a.steps[0].op) for a in pruned.actions] == [("prune", "key_delete")]


def test_blocked_key_is_reported_not_unblocked():
    live = converged(user("ann"))
    k = live.keys[0]
    live.keys = [LiveKey(k.token, k.alias, k.user_id, k.team_id, k.models, True, k.metadata, True, k.expires,
                         k.allowed_routes)]
    p = plan_for(desired(user("ann")), live)
    assert p.actions == [] and p.has_changes
    (report,) = p.out_of_band
    assert report.kind == "report" and "blocked outside git" in report.reason and report.steps == []


def test_tier_budget_change_is_one_team_update():
    live = converged(user("ann"))
    d = desired(user("ann"))
    d.tiers["drafting"] = Tier("drafting", "Drafting", Decimal("3.50"), 12, ("model-cheap",))
    (action,) = plan_for(d, live).actions
    assert action.kind == "update-tier"
    assert action.changes == [("team_member_budget", "2.00", "3.50"), ("team_member_rpm_limit", 10, 12)]
    assert action.steps[0].args == {"team_id": "tier-drafting", "team_member_budget": 3.5, "team_member_rpm_limit": 12}


def test_plan_json_round_trips():
    p = plan_for(desired(user("ann")), converged())
    again = Plan.from_json(p.to_json())
    assert again.to_json() == p.to_json()


def test_desired_digest_is_the_digest_of_the_states_fields():
    """The desired digest is hashed straight from the dataclasses (no asdict copy, for speed): it must
    stay the digest of dataclasses.asdict(), which plans saved by earlier versions were named with."""
    from reconciler.desired.policy import BudgetException
    from reconciler.live.digest import json_digest
    from reconciler.plan import desired_digest

    excepted = dataclasses.replace(user("cid", "coding", dt.date(2027, 1, 31)),
                                   budget_exception=BudgetException(Decimal("15.50"), dt.date(2026, 12, 20), "FIN-9"))
    architect = Tier("architect", "Architect", Decimal("500.00"), 100, ("model-cheap",), Decimal("100"),
                     Decimal("1.25"), 90, 7, (50, 80, 100))
    d = dataclasses.replace(desired(user("ann"), excepted), tiers={**desired().tiers, "architect": architect})
    assert desired_digest(d) == json_digest(dataclasses.asdict(d))
    without = desired(user("ann"), dataclasses.replace(excepted, budget_exception=None))
    assert desired_digest(d) != desired_digest(without)


def test_markdown_escapes_user_controlled_text():
    """PR comments and drift issues show names from users/ and key aliases chosen by whoever holds
    the master key: they must render as text, notify nobody, and stay inside their table cell."""
    from reconciler.plan.report import markdown

    hostile = "<img src=x onerror=alert(1)> @octocat | **bold** [x](https://evil.example) #99 `code`"
    u = User("ann", hostile, "ann@example.com", "drafting", "boss@example.com", "CC-1", "because reasons", None,
             "users/ann.yaml")
    live = converged()
    live.keys += (LiveKey("e" * 64, "@admins <b>side</b> | door", None, None, (), False, {}, False),)
    md = markdown(plan_for(desired(u), live))
    for raw in ("<img", "<b>", "@octocat", "@admins", "**bold**", "](https", "#99", "`code`"):
        assert raw not in md, raw
    rows = [line for line in md.splitlines() if line.startswith("| ") and ("ann" in line or "door" in line)]
    assert len(rows) == 2 and all(line.count("|") == 5 for line in rows), rows
    assert "@&#8203;octocat" in md and "&lt;img" in md


def test_text_output_shows_control_characters_instead_of_sending_them():
    from reconciler.plan.report import text

    live = converged()
    live.keys += (LiveKey("e" * 64, "evil\x1b]0;owned\x07alias", None, None, (), False, {}, False),)
    out = text(plan_for(desired(), live))
    assert "\x1b" not in out and "\x07" not in out and "evil\\x1b]0;owned\\x07alias" in out


def test_plain_http_gateway_url_is_refused_unless_local():
    import pytest

    from reconciler.live.client import AdminClient

    for url in ("http://gateway.example.com", "http://10.0.0.5:4000", "http://127.0.0.1.example.com", "gw:4000",
                "http://gateway.internal.example.com", "http://internal:4000", "http://a..internal"):
        with pytest.raises(ValueError, match="clear text"):
            AdminClient(url, "sk-test")  # pragma: allowlist secret
    # The tasks' private name inside the VPC (LITELLM_ADMIN_URL, docs/adr/0006) is not on the internet.
    for url in ("https://gateway.example.com", "http://127.0.0.1:4000", "http://localhost:4000", "http://[::1]:1",
                "http://litellm.gateway.internal:4000"):
        AdminClient(url, "sk-test").close()  # pragma: allowlist secret


def test_every_destructive_kind_counts_toward_its_limit_and_the_total():
    users = [user(f"u{i}") for i in range(8)]  # 8 managed keys: 2 per kind, 4 in total
    live = converged(*users)
    live.secrets.clear()  # a wrong region or prefix: every secret "missing"
    p = plan_for(desired(*users), live)
    assert p.counts["rotation"] == 8 and "refusing to rotate 8 of 8" in p.refused
    assert "wrong AWS region or --secret-prefix" in p.refused
    p = plan_for(desired(*users), live, limits=SafetyLimits(allow_mass_rotation=True))
    assert "--allow-mass-change" in p.refused and "--allow-mass-rotation" not in p.refused
    assert plan_for(desired(*users), live, limits=SafetyLimits(allow_mass_rotation=True,
                                                               allow_mass_change=True)).refused is None
    # One of a kind is always allowed, also on a gateway with a single user.
    only = [user("solo")]
    assert plan_for(desired(), converged(*only)).refused is None
    assert plan_for(desired(), converged(*only, user("duo"))).refused is not None


def _imports(path) -> set[str]:
    """Every module a file imports, also inside functions (that is how plan.py and outofband.py imported
    each other), with `from X import Y` counted as X and X.Y."""
    import ast

    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return out


def test_the_core_diff_imports_neither_shards_nor_scope_and_reconciler_has_no_import_cycle():
    """Shards and scope sit behind their seams: tier team names come in as a TeamLayout (the package's
    facade passes reconciler/desired/shards.py), a scoped read is a reader and a processor
    (reconciler/plan/scope.py)."""
    from pathlib import Path

    import reconciler

    root = Path(reconciler.__file__).parent
    modules = {".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__"): p
               for p in root.rglob("*.py")}
    # The seam itself, and the PR reviewer's cost report (it groups members by their tier's team), are not the diff.
    outside_the_diff = {"reconciler.plan.scope", "reconciler.plan.commitment"}
    core = {m: p for m, p in modules.items() if m.startswith("reconciler.plan.") and m not in outside_the_diff}
    assert {"reconciler.plan.core", "reconciler.plan.users", "reconciler.plan.outofband"} <= set(core)
    for name, path in core.items():
        assert not _imports(path) & {"reconciler.desired.shards", "reconciler.plan.scope"}, name
    # A package importing its own modules is not a cycle (Python loads the package first).
    graph = {m: {i for i in _imports(p) if i in modules and i != m and not m.startswith(i + ".")}
             for m, p in modules.items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and not seen.add(n) and reaches(n, goal, seen)) for n in graph[start])

    assert [m for m in graph if reaches(m, m, set())] == []


def test_deferral_is_a_processor_and_plans_no_user_twice(monkeypatch):
    """The diff plans every due rotation; Deferral, a processor over the draft, leaves the excess for
    later runs by taking each user's diff without the calendar's work, not by planning the user again."""
    from reconciler.plan import core, rotation
    from reconciler.plan.processors import Deferral

    users = [user(f"u{i:02d}") for i in range(12)]  # 12 managed keys: at most 3 rotations per run
    d = desired(*users)
    d = dataclasses.replace(d, tiers={k: dataclasses.replace(t, key_max_age_days=90) for k, t in d.tiers.items()})
    live = converged(*users)
    live.keys = [dataclasses.replace(k, metadata={**k.metadata, rotation.ISSUED_ON: "2026-01-01"}) for k in live.keys]
    context = PlanContext(today=dt.date(2026, 4, 1), commit="c1")
    planned: list[str] = []
    diff_user = core.diff_user
    monkeypatch.setattr(core, "diff_user", lambda u, *a: planned.append(u.id) or diff_user(u, *a))

    bare = build_plan(d, live, context, [])
    assert bare.counts["rotation"] == 12 and "refusing to rotate 12" in bare.refused
    planned.clear()
    deferred = build_plan(d, live, context, [Deferral()])
    assert deferred.refused is None and [a.target for a in deferred.actions] == ["user:u00", "user:u01", "user:u02"]
    assert any("9 user(s)' scheduled key rotation" in w for w in deferred.warnings)
    assert planned == [u.id for u in users]  # each user once


def test_user_key_routes_are_the_load_balancers_public_model_paths():
    """One list, two places: what a key may call is what the ALB publishes (less its health checks)."""
    module = Path(__file__).resolve().parent.parent / "terraform" / "modules" / "gateway-load-balancer"
    variables = (module / "variables.tf").read_text()
    block = re.search(r'variable "public_paths" \{.*?default = \[(.*?)\n  \]', variables, re.S).group(1)
    public = re.findall(r'"(/[^"]+)"', re.sub(r"#[^\n]*", "", block))
    assert sorted(p for p in public if not p.startswith("/health/")) == sorted(USER_KEY_ROUTES)
