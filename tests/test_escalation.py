"""Issue #10 on the genuine LiteLLM proxy: no access outside git, and every bypass shows up as drift.

Each test replays one attack or out-of-band change from the issue against a gateway that
`gatewayctl apply` has set up from the example users, and checks what a user's key can do, what
`gatewayctl drift` reports (exit 2 = drift) and what `apply` does about it.
"""

from __future__ import annotations

import json

import httpx
import pytest
from helpers import chat, managed_keys, reset_gateway, reset_secrets, secret_key, secrets_client, write_user

from reconciler.live.keystore import DEFAULT_SERVICE_PREFIX, key_hash

pytestmark = pytest.mark.integration

DRIFT = 2
REFUSED = 3

# Admin routes a user's key must never reach (method, path, body or query). The ids are filled in
# per test; every one answered 200 for some key before this issue (see docs/auditor-guide.md).
ADMIN_ROUTES = [
    ("POST", "/key/generate", {"key_alias": "self-minted", "metadata": {"managed_by": "llm-gateway-gitops",
                                                                        "gitops_user_id": "ghost"}}),
    ("POST", "/key/generate", {"key_alias": "self-minted-team", "team_id": "tier-drafting",
                               "models": ["all-team-models"]}),
    ("POST", "/key/update", {"key": "{own}", "models": ["model-reasoning"]}),
    ("POST", "/key/delete", {"keys": ["{own}"]}),
    ("POST", "/key/block", {"key": "{other}"}),
    ("GET", "/key/list", None),
    ("GET", "/key/info", {"key": "{own}"}),
    ("GET", "/key/info", {"key": "{other}"}),
    ("POST", "/user/update", {"user_id": "alice", "user_role": "proxy_admin"}),
    ("GET", "/user/info", {"user_id": "bob"}),
    ("GET", "/user/list", None),
    ("GET", "/team/list", None),
    ("GET", "/team/info", {"team_id": "tier-drafting"}),
    ("POST", "/team/member_add", {"team_id": "tier-architect", "member": {"user_id": "alice", "role": "user"}}),
    ("POST", "/team/update", {"team_id": "tier-drafting", "models": ["model-reasoning"]}),
    ("GET", "/spend/logs", None),
    ("GET", "/spend/logs", {"user_id": "bob"}),
    ("GET", "/global/spend/logs", None),
    ("GET", "/budget/list", None),
    ("POST", "/model/new", {"model_name": "x", "litellm_params": {"model": "bedrock/x"}}),
]


@pytest.fixture(autouse=True)
def clean(admin, aws_env):
    reset_gateway(admin)
    reset_secrets()


def _fill(value, ids: dict):
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def admin_route_statuses(base_url: str, raw_key: str, ids: dict) -> dict[str, int]:
    out = {}
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {raw_key}"}, timeout=60,
                      trust_env=False) as c:
        for method, path, args in ADMIN_ROUTES:
            args = _fill(args, ids)
            r = (c.get(path, params=args) if method == "GET" else c.post(path, json=args))
            out[f"{method} {path} {json.dumps(args)}"] = r.status_code
    return out


def audit_records(workspace) -> list[dict]:
    return [json.loads(line) for line in (workspace / "gatewayctl-audit.jsonl").read_text().splitlines()]


def drift(gatewayctl, *args):
    return gatewayctl("drift", *args)


def key_info(admin, token: str) -> dict:
    return admin.get("/key/info", params={"key": token}).json()["info"]


# ---------------------------------------------------------------- path 3: self-minted keys
def test_users_key_gets_401_or_403_on_every_admin_route(gatewayctl, gateway, admin):
    gatewayctl("apply", "--confirm", check=True)
    own, other = managed_keys(admin, "alice")[0]["token"], managed_keys(admin, "bob")[0]["token"]
    raw = secret_key("alice")
    statuses = admin_route_statuses(gateway.base_url, raw, {"{own}": own, "{other}": other})
    assert all(s in (401, 403) for s in statuses.values()), statuses
    assert chat(gateway.base_url, raw, "model-cheap").status_code == 200  # the key still does its job
    assert chat(gateway.base_url, raw, "model-reasoning").status_code == 403
    assert [k["token"] for k in managed_keys(admin, "alice")] == [own]  # nothing minted, nothing deleted
    keys = admin.get("/key/list", params={"user_id": "alice"}).json()["keys"]
    assert keys == [own]


def test_the_lock_holds_even_if_the_user_is_promoted(gatewayctl, gateway, admin):
    """The issue's promotion: the master key makes bob proxy_admin. His git-issued key still reaches
    no admin route (allowed_routes), `drift` reports the role, and apply reverts it."""
    gatewayctl("apply", "--confirm", check=True)
    admin.post("/user/update", json={"user_id": "bob", "user_role": "proxy_admin"}).raise_for_status()
    raw = secret_key("bob")
    with httpx.Client(base_url=gateway.base_url, headers={"Authorization": f"Bearer {raw}"}, trust_env=False,
                      timeout=60) as c:
        assert c.get("/user/list").status_code == 403
        assert c.post("/key/generate", json={"models": ["model-reasoning"]}).status_code == 403
    found = drift(gatewayctl)
    assert found.returncode == DRIFT, found.stdout + found.stderr
    assert "~ update user:bob" in found.stdout and "user_role: proxy_admin -> internal_user_viewer" in found.stdout
    gatewayctl("apply", "--confirm", check=True)
    assert admin.get("/user/info", params={"user_id": "bob"}).json()["user_info"]["user_role"] == "internal_user_viewer"
    assert drift(gatewayctl).returncode == 0


def test_gateway_config_refuses_personal_and_team_keys_to_users(gatewayctl, gateway, admin):
    """Second lock, in gateway/config.yaml (key_generation_settings): even a key without the route
    limit, of a user with the internal_user role, cannot mint keys."""
    gatewayctl("apply", "--confirm", check=True)
    admin.post("/user/update", json={"user_id": "alice", "user_role": "internal_user"}).raise_for_status()
    side = admin.post("/key/generate", json={"user_id": "alice", "team_id": "tier-drafting",
                                             "models": ["all-team-models"]}).json()["key"]
    with httpx.Client(base_url=gateway.base_url, headers={"Authorization": f"Bearer {side}"}, trust_env=False,
                      timeout=60) as c:
        personal = c.post("/key/generate", json={"key_alias": "mine"})
        team = c.post("/key/generate", json={"key_alias": "mine-team", "team_id": "tier-drafting"})
    assert personal.status_code == 400 and "Personal key creation has been restricted" in personal.text
    assert team.status_code in (400, 401, 403), team.text


# ---------------------------------------------------------------- path 3: the marker is not trusted alone
def test_forged_marker_is_drift_not_a_revocation(gatewayctl, admin):
    """Keys claiming gatewayctl issued them to 'ghost' (made before the lock, or copied): not a
    managed user to revoke, and no way to trip the revocation limit; they are out-of-band keys of
    alice, removed only with --prune-unmanaged."""
    gatewayctl("apply", "--confirm", check=True)
    forged = [admin.post("/key/generate", json={
        "user_id": "alice", "key_alias": f"forged-{i}",
        "metadata": {"managed_by": "llm-gateway-gitops", "gitops_user_id": "ghost"}}).json()["token_id"]
        for i in range(11)]
    found = drift(gatewayctl)
    assert found.returncode == DRIFT, found.stdout + found.stderr  # not 3: nothing is refused
    assert "revoke" not in found.stdout and "ghost" in found.stdout
    assert found.stdout.count("x prune key:forged-") == 11
    assert "key of user alice not issued by gatewayctl (its metadata claims gatewayctl issued it to 'ghost'" \
        in found.stdout
    assert gatewayctl("apply", "--confirm").returncode == 0  # deploys are not blocked
    assert all(key_info(admin, t).get("key_alias") for t in forged)  # and nothing was pruned
    refused = gatewayctl("apply", "--confirm", "--prune-unmanaged")
    assert refused.returncode == REFUSED and "--allow-mass-prune" in refused.stdout
    gatewayctl("apply", "--confirm", "--prune-unmanaged", "--allow-mass-prune", "--allow-mass-change", check=True)
    assert all(key_info(admin, t).get("deleted_at") for t in forged)
    assert len(managed_keys(admin)) == 3 and drift(gatewayctl).returncode == 0


# ---------------------------------------------------------------- path 4: admin-made access is drift
def test_side_door_key_is_drift_and_pruned_only_with_the_flag(gatewayctl, workspace, admin, gateway):
    gatewayctl("apply", "--confirm", check=True)
    side = admin.post("/key/generate", json={"user_id": "carol", "key_alias": "side-door"}).json()
    found = drift(gatewayctl, "--format", "markdown")
    assert found.returncode == DRIFT and "side\\-door" in found.stdout and "Access outside git" in found.stdout
    gatewayctl("apply", "--confirm", check=True)
    assert key_info(admin, side["token_id"])["key_alias"] == "side-door"  # left alone without the flag
    assert "prune key:side-door" in audit_records(workspace)[-1]["out_of_band_left"]
    assert drift(gatewayctl).returncode == DRIFT
    out = gatewayctl("apply", "--confirm", "--prune-unmanaged", check=True)
    assert "prune key:side-door" in out.stderr
    assert chat(gateway.base_url, side["key"], "model-reasoning").status_code == 401
    assert drift(gatewayctl).returncode == 0


def test_unmanaged_membership_of_a_tier_team_is_drift(gatewayctl, admin):
    gatewayctl("apply", "--confirm", check=True)
    admin.post("/user/new", json={"user_id": "dave", "auto_create_key": False}).raise_for_status()
    admin.post("/team/member_add", json={"team_id": "tier-architect",
                                         "member": {"user_id": "dave", "role": "user"}}).raise_for_status()
    found = drift(gatewayctl)
    assert found.returncode == DRIFT and "x prune member:dave@tier-architect" in found.stdout
    gatewayctl("apply", "--confirm", "--prune-unmanaged", check=True)
    assert "tier-architect" not in admin.get("/user/info", params={"user_id": "dave"}).json()["user_info"]["teams"]
    assert drift(gatewayctl).returncode == 0


def test_a_tier_team_left_behind_is_drift_until_deleted(gatewayctl, workspace, admin, gateway):
    """Issue 19: lowering `teams:` moves the members back, but the emptied team still grants its model
    to any key made for it, so it is drift until someone deletes it."""
    tiers = workspace / "policies" / "tiers.yaml"
    original = tiers.read_text()
    tiers.write_text(original.replace("\n  architect:\n", "\n  architect:\n    teams: 2\n", 1))
    gatewayctl("apply", "--confirm", "--allow-mass-move", "--allow-mass-change", check=True)
    tiers.write_text(original)
    gatewayctl("apply", "--confirm", "--allow-mass-move", "--allow-mass-change", check=True)
    assert admin.get("/team/info", params={"team_id": "tier-architect.1"}).json()["team_info"]["models"] == [
        "model-reasoning"]
    found = drift(gatewayctl)
    assert found.returncode == DRIFT and "! report team:tier-architect.1" in found.stdout, found.stdout
    assert "still grants model-reasoning to any key made for it" in found.stdout
    gatewayctl("apply", "--confirm", check=True)  # a report: apply leaves it, it stays drift
    assert drift(gatewayctl).returncode == DRIFT
    admin.post("/team/delete", json={"team_ids": ["tier-architect.1"]}).raise_for_status()
    assert drift(gatewayctl).returncode == 0


def test_blocked_key_is_drift_until_settled_in_git(gatewayctl, workspace, admin):
    gatewayctl("apply", "--confirm", check=True)
    token = managed_keys(admin, "alice")[0]["token"]
    admin.post("/key/block", json={"key": token}).raise_for_status()
    found = drift(gatewayctl)
    assert found.returncode == DRIFT and "blocked outside git" in found.stdout
    gatewayctl("apply", "--confirm", "--prune-unmanaged", check=True)
    assert key_info(admin, token)["blocked"] is True  # never unblocked by gatewayctl
    (workspace / "users" / "alice.yaml").unlink()  # the follow-up PR: offboard
    gatewayctl("apply", "--confirm", check=True)
    assert drift(gatewayctl).returncode == 0


def test_offboarding_removes_every_key_and_the_membership(gatewayctl, workspace, admin):
    gatewayctl("apply", "--confirm", check=True)
    managed = managed_keys(admin, "bob")[0]["token"]
    extra = [admin.post("/key/generate", json={"user_id": "bob", "team_id": "tier-coding",
                                               "models": ["all-team-models"]}).json()["token_id"],
             admin.post("/key/generate", json={"user_id": "bob"}).json()["token_id"]]
    (workspace / "users" / "bob.yaml").unlink()
    plan = gatewayctl("plan", check=True)
    assert "- revoke user:bob (no longer in users/)" in plan.stdout and "member: tier-coding -> (none)" in plan.stdout
    gatewayctl("apply", "--confirm", check=True)
    assert admin.get("/key/list", params={"user_id": "bob"}).json()["keys"] == []
    assert all(key_info(admin, t).get("deleted_at") for t in [managed, *extra])  # revoked, not erased
    assert admin.get("/user/info", params={"user_id": "bob"}).json()["user_info"]["teams"] == []  # spend history stays
    assert drift(gatewayctl).returncode == 0


# ---------------------------------------------------------------- safety limits
def test_empty_key_store_inventory_is_refused_not_rotated(gatewayctl, admin):
    """A wrong region or prefix lists no secret: every key would be 'missing' and rotated."""
    gatewayctl("apply", "--confirm", check=True)
    before = sorted(k["token"] for k in managed_keys(admin))
    refused = gatewayctl("apply", "--confirm", "--secret-prefix", "wrong-prefix/")
    assert refused.returncode == REFUSED
    assert "refusing to rotate 3 of 3 managed keys" in refused.stdout and "--allow-mass-rotation" in refused.stdout
    assert "wrong AWS region or --secret-prefix" in refused.stdout
    assert sorted(k["token"] for k in managed_keys(admin)) == before


# ---------------------------------------------------------------- a saved plan is bound to its inputs
def test_saved_plan_is_recomputed_and_must_match(gatewayctl, workspace, admin):
    gatewayctl("plan", "--out", "plan.json", check=True)
    plan = json.loads((workspace / "plan.json").read_text())
    step = next(s for a in plan["actions"] for s in a["steps"] if s["op"] == "key_create")
    step["args"]["models"] = ["model-reasoning"]  # an edited plan file
    (workspace / "plan.json").write_text(json.dumps(plan))
    edited = gatewayctl("apply", "plan.json", "--confirm")
    assert edited.returncode == 1 and "actions differ from what its inputs give now" in edited.stderr
    assert managed_keys(admin) == []

    gatewayctl("plan", "--out", "plan.json", "--plan-viewer", check=True)
    other = gatewayctl("apply", "plan.json", "--confirm")
    assert other.returncode == 1 and "made with other options (plan_viewer: True)" in other.stderr
    gatewayctl("apply", "plan.json", "--confirm", "--plan-viewer", check=True)
    assert len(managed_keys(admin)) == 4


def test_saved_plan_needs_the_override_flags_again(gatewayctl, workspace, admin):
    for i in range(4):
        write_user(workspace, f"ov{i}")
    gatewayctl("apply", "--confirm", check=True)
    for i in range(4):
        (workspace / "users" / f"ov{i}.yaml").unlink()
    gatewayctl("plan", "--out", "plan.json", "--allow-mass-revocation", "--allow-mass-change", check=True)
    assert json.loads((workspace / "plan.json").read_text())["overrides"] == ["--allow-mass-revocation",
                                                                              "--allow-mass-change"]
    again = gatewayctl("apply", "plan.json", "--confirm")
    assert again.returncode == REFUSED and len(managed_keys(admin)) == 7
    gatewayctl("apply", "plan.json", "--confirm", "--allow-mass-revocation", "--allow-mass-change", check=True)
    assert len(managed_keys(admin)) == 3
    assert audit_records(workspace)[-1]["overrides"] == ["--allow-mass-revocation", "--allow-mass-change"]


# ---------------------------------------------------------------- secrets
def test_secrets_use_the_project_kms_key_and_apply_refuses_without_it(gatewayctl, admin, project_kms_key):
    refused = gatewayctl("apply", "--confirm", env={"GATEWAYCTL_KMS_KEY_ID": ""})
    assert refused.returncode == 1 and "project's KMS key" in refused.stderr
    assert managed_keys(admin) == [] and admin.get("/team/list").json() == []  # refused before any change
    sm = secrets_client()
    # A secret an older version wrote with the account's default key, and without a resource policy:
    # refused (it could be anyone's) until adopted on request, and then it moves to the project key.
    sm.create_secret(Name="llm-gateway/users/carol", SecretString="{}",  # pragma: allowlist secret
                     KmsKeyId="alias/aws/secretsmanager")
    unadopted = gatewayctl("apply", "--confirm", "--plan-viewer")
    assert unadopted.returncode != 0
    assert "refusing to write the key of carol" in unadopted.stdout + unadopted.stderr
    assert sm.get_secret_value(SecretId="llm-gateway/users/carol")["SecretString"] == "{}"  # pragma: allowlist secret
    gatewayctl("apply", "--confirm", "--plan-viewer", "--adopt-key-secrets", check=True)
    names = [s["Name"] for page in sm.get_paginator("list_secrets").paginate() for s in page["SecretList"]]
    assert sorted(names) == ["llm-gateway/service/gatewayctl-plan-viewer", "llm-gateway/users/alice",
                             "llm-gateway/users/bob", "llm-gateway/users/carol"]
    for name in names:
        assert sm.describe_secret(SecretId=name)["KmsKeyId"] == project_kms_key
    gatewayctl("apply", "--confirm", "--rotate", "bob", check=True)  # an update keeps (or moves to) the key
    bob = "llm-gateway/users/bob"  # pragma: allowlist secret
    assert sm.describe_secret(SecretId=bob)["KmsKeyId"] == project_kms_key


def test_plan_viewer_key_lives_outside_the_user_prefix_and_reads_only_what_plans_need(gatewayctl, gateway, admin):
    gatewayctl("apply", "--confirm", "--plan-viewer", check=True)
    viewer = secret_key("gatewayctl-plan-viewer", prefix=DEFAULT_SERVICE_PREFIX)
    assert key_hash(viewer) == managed_keys(admin, "gatewayctl-plan-viewer")[0]["token"]
    alice = managed_keys(admin, "alice")[0]["token"]
    with httpx.Client(base_url=gateway.base_url, headers={"Authorization": f"Bearer {viewer}"}, trust_env=False,
                      timeout=60) as c:
        reads = {p: c.get(p, params=q).status_code for p, q in (
            ("/key/list", {}), ("/user/list", {}), ("/v2/team/list", {}), ("/budget/list", {}),
            ("/key/info", {"key": alice}), ("/team/info", {"team_id": "tier-drafting", "key_limit": 1}))}
        denied = {p: c.get(p).status_code for p in ("/spend/logs", "/global/spend/logs", "/team/list",
                                                   "/user/info", "/global/activity")}
        writes = {p: c.post(p, json=b).status_code for p, b in (
            ("/key/generate", {}), ("/key/delete", {"keys": [alice]}), ("/user/new", {"user_id": "x"}),
            ("/team/member_add", {"team_id": "tier-coding", "member": {"user_id": "x", "role": "user"}}))}
    assert set(reads.values()) == {200}, reads
    assert all(s in (401, 403) for s in [*denied.values(), *writes.values()]), (denied, writes)


# ---------------------------------------------------------------- output
def test_http_base_url_outside_this_machine_is_refused(gatewayctl):
    out = gatewayctl("plan", "--base-url", "http://gateway.example.com")
    assert out.returncode == 1 and "sent in clear text" in out.stderr


# ---------------------------------------------------------------- path 1: why validate rejects sentinels
OPUS = "global.anthropic.claude-opus-4-5-20251101-v1:0"  # model-reasoning: the Architect tier's


BEDROCK_PATHS = [
    f"/bedrock/model/{OPUS}/converse", "/bedrock/model/model-reasoning/converse",
    "/bedrock/model/global.anthropic.claude-opus-4-5-20251101-v1%3A0/converse",
    f"/bedrock/model/{OPUS}/converse-stream", f"/bedrock/model/{OPUS}/invoke",
    f"/bedrock/model/{OPUS}/invoke-with-response-stream", "/bedrock/model/model-cheap%2F..%2Fmodel-reasoning/converse",
]


def test_a_users_key_reaches_no_bedrock_passthrough_not_even_for_its_own_model(gatewayctl, gateway):
    """A user's key may call exactly the model APIs the load balancer publishes (USER_KEY_ROUTES), not
    LiteLLM's `llm_api_routes` group: that holds the /bedrock/* pass-through, which forwards a body as
    written (a Converse body without maxTokens gets Bedrock's 64,000, past what the budget reserved) and
    answers inside the VPC. Every pass-through path, for another tier's model or its own, by Bedrock id
    or alias, encoded or not, is refused before Bedrock is called; the chat API still answers."""
    gatewayctl("apply", "--confirm", check=True)
    headers = {"Authorization": f"Bearer {secret_key('alice')}"}  # Drafting: model-cheap only
    converse = {"messages": [{"role": "user", "content": [{"text": "hi [[usage in=10 out=5]]"}]}]}
    invoke = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5,
              "messages": [{"role": "user", "content": "hi"}]}
    before = len(gateway.harness.fake_bedrock_requests()) if gateway.harness else None
    for path in [*BEDROCK_PATHS, "/bedrock/model/model-cheap/converse"]:
        r = httpx.post(gateway.base_url + path, headers=headers, json=invoke if "/invoke" in path else converse,
                       timeout=60, trust_env=False)
        assert r.status_code in (401, 403) and "Only allowed to call routes" in r.text, (path, r.status_code, r.text)
    for path in ("/model/info", "/v1/model/info"):  # each deployment's litellm_params, the Bedrock endpoint too
        r = httpx.get(gateway.base_url + path, headers=headers, timeout=60, trust_env=False)
        assert r.status_code in (401, 403) and "Only allowed to call routes" in r.text, (path, r.status_code, r.text)
    if before is not None:
        assert len(gateway.harness.fake_bedrock_requests()) == before  # Bedrock was never asked
    assert chat(gateway.base_url, secret_key("alice"), "model-cheap").status_code == 200


def test_litellm_reads_all_proxy_models_as_every_model(admin, gateway):
    """What `validate` guards against (tests/test_validate.py rejects the name): a tier team whose
    models list holds all-proxy-models gives its members' keys every model, Opus included."""
    admin.post("/team/new", json={"team_id": "tier-sentinel", "models": ["all-proxy-models"]}).raise_for_status()
    admin.post("/user/new", json={"user_id": "sam", "models": ["no-default-models"],
                                  "auto_create_key": False}).raise_for_status()
    admin.post("/team/member_add", json={"team_id": "tier-sentinel",
                                         "member": {"user_id": "sam", "role": "user"}}).raise_for_status()
    raw = admin.post("/key/generate", json={"user_id": "sam", "team_id": "tier-sentinel",
                                            "models": ["all-team-models"]}).json()["key"]
    assert chat(gateway.base_url, raw, "model-reasoning").status_code == 200
