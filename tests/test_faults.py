"""gatewayctl apply under injected faults, SIGKILL at random points, and two applies at once.

Everything runs against the genuine LiteLLM proxy (session `gateway` fixture) and moto's
Secrets Manager; faults come from tests/faultproxy.py, a forwarder between gatewayctl and
LiteLLM. After every disturbance a plain re-run must converge, checked by `converged()`:

- `plan --detailed-exitcode` exits 0 (nothing left to do);
- every desired user has exactly one managed key, and no removed user has any;
- the secret's `gatewayctl:key-sha256` tag equals the live token, AND the sha256 of the raw
  key stored in the secret equals it too (the delivered key is the one LiteLLM knows);
- no token appears twice.

During a crashed state (after SIGKILL, before the re-run) `crash_consistent()` checks the
weaker invariant the design promises: every live managed key is either the one its user's
secret holds (tag and value), or a key in the middle of rotation: its alias ends with
`~retiring`, or the user's secret already holds a newer key that LiteLLM does not know yet
(secret written, /key/generate not reached); such an old key is deleted by the next run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from faultproxy import FAULTS, FaultProxy
from helpers import generate_users, managed_keys, reset_gateway, secret_key, secrets_client, write_user

from reconciler.live.client import AdminClient, GatewayError, RequestPolicy
from reconciler.live.keystore import DEFAULT_PREFIX, HASH_TAG, key_hash

pytestmark = pytest.mark.integration


def secret_tag(user_id: str) -> str | None:
    try:
        desc = secrets_client().describe_secret(SecretId=DEFAULT_PREFIX + user_id)
    except secrets_client().exceptions.ResourceNotFoundException:
        return None
    return {t["Key"]: t["Value"] for t in desc.get("Tags", [])}.get(HASH_TAG)


def secret_value_hash(user_id: str) -> str | None:
    try:
        return key_hash(secret_key(user_id))
    except secrets_client().exceptions.ResourceNotFoundException:
        return None


def all_managed(admin: httpx.Client) -> list[dict]:
    return managed_keys(admin)


def converged(gatewayctl, admin: httpx.Client, desired: list[str], removed: list[str] = ()) -> None:
    plan = gatewayctl("plan", "--detailed-exitcode")
    assert plan.returncode == 0, f"not converged: plan exit {plan.returncode}\n{plan.stdout}\n{plan.stderr}"
    keys = all_managed(admin)
    tokens = [k["token"] for k in keys]
    assert len(tokens) == len(set(tokens)), "duplicate key tokens"
    by_user: dict[str, list[dict]] = {}
    for k in keys:
        by_user.setdefault(k["metadata"]["gitops_user_id"], []).append(k)
    for uid in desired:
        got = by_user.get(uid, [])
        assert len(got) == 1, f"{uid} has {len(got)} managed keys"
        token = got[0]["token"]
        assert secret_tag(uid) == token, f"{uid}: secret hash tag != live token"
        assert secret_value_hash(uid) == token, f"{uid}: the key stored in the secret is not the live key"
        assert got[0]["key_alias"] == f"u-{uid}"
    for uid in removed:
        assert not by_user.get(uid), f"removed user {uid} still has a key"
    assert set(by_user) <= set(desired), f"unexpected managed keys for {set(by_user) - set(desired)}"


def crash_consistent(admin: httpx.Client) -> list[str]:
    """Violations of the crash invariant (see module docstring); [] when consistent."""
    problems = []
    keys = all_managed(admin)
    live_tokens = {k["token"] for k in keys}
    for k in keys:
        uid = k["metadata"]["gitops_user_id"]
        tag, value = secret_tag(uid), secret_value_hash(uid)
        if tag is None or value is None:
            problems.append(f"{uid}: live key {k['token'][:12]} has no secret")
            continue
        if k["token"] == tag:
            if value != tag:
                problems.append(f"{uid}: secret tag matches the live key but the stored key does not")
            continue
        if (k.get("key_alias") or "").endswith("~retiring"):
            continue
        if tag not in live_tokens and value == tag:
            continue  # secret already holds the next key; this old one gets replaced and deleted
        problems.append(f"{uid}: live key {k['token'][:12]} is neither the stored key nor being rotated")
    return problems


# These scenarios move, revoke and rotate more than the safety limits allow on a gateway this small;
# the limits have their own tests (test_escalation.py), here they are lifted on purpose.
OVERRIDES = ("--allow-mass-move", "--allow-mass-revocation", "--allow-mass-rotation", "--allow-mass-change")


def run_env(gateway, aws_env) -> dict:
    return {**os.environ, **aws_env, "LITELLM_BASE_URL": gateway.base_url,
            "LITELLM_MASTER_KEY": gateway.master_key, "GITHUB_SHA": "0" * 40}


def no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout


def seed_then_change(workspace: Path, gatewayctl, prefix: str, n: int = 4) -> tuple[list[str], list[str]]:
    """Apply n users, then edit the workspace: 2 new users, 2 tier moves, 1 removal.
    Returns (desired ids after the edit, removed ids)."""
    ids = generate_users(workspace, n, prefix=prefix)
    gatewayctl("apply", "--confirm", check=True)
    new = [f"{prefix}{900 + i:05d}" for i in range(2)]
    for uid in new:
        write_user(workspace, uid, "coding")
    write_user(workspace, ids[0], "architect")  # drafting -> architect
    write_user(workspace, ids[1], "drafting")  # coding -> drafting
    (workspace / "users" / f"{ids[-1]}.yaml").unlink()
    return [*ids[:-1], *new], [ids[-1]]


# ---------------------------------------------------------------- the client alone, through faults


def test_client_retries_5xx_and_honours_retry_after(gateway):
    with FaultProxy(gateway.base_url, schedule=["error5xx", "throttle", "error5xx_after"], retry_after=1) as fp:
        with AdminClient(fp.url, gateway.master_key, policy=RequestPolicy(timeout=5, retries=3, backoff=0.05)) as c:
            started = time.monotonic()
            body = c.get("/key/list", size=1)
            elapsed = time.monotonic() - started
        assert "keys" in body
        assert c.stats.retries == 3 and fp.count() == 4
        assert elapsed >= 1.0, "Retry-After: 1 was not honoured"


def test_client_bad_retry_after_header_is_not_a_crash(gateway):
    with FaultProxy(gateway.base_url, schedule=["throttle"], retry_after=1) as fp:
        fp.retry_after = "soon"  # not a number, not an HTTP date
        with AdminClient(fp.url, gateway.master_key, policy=RequestPolicy(timeout=5, retries=2, backoff=0.05)) as c:
            assert "keys" in c.get("/key/list", size=1)


def test_client_never_replays_a_write_after_a_reset(gateway, admin):
    """A write whose connection died may have reached LiteLLM: it must not be sent twice."""
    with FaultProxy(gateway.base_url, schedule=["reset_mid"]) as fp:
        with AdminClient(fp.url, gateway.master_key, policy=RequestPolicy(timeout=5, retries=3, backoff=0.05)) as c:
            with pytest.raises(GatewayError) as err:
                c.post("/user/new", {"user_id": "faultprobe-reset", "auto_create_key": False})
        assert fp.count() == 1
        assert err.value.status == 0
    admin.post("/user/delete", json={"user_ids": ["faultprobe-reset"]})


def test_client_gives_up_after_its_timeout(gateway):
    with FaultProxy(gateway.base_url, schedule=["slow"], slow_seconds=3) as fp:
        with AdminClient(fp.url, gateway.master_key, policy=RequestPolicy(timeout=0.5, retries=0)) as c:
            started = time.monotonic()
            with pytest.raises(GatewayError, match="Timeout"):
                c.get("/key/list", size=1)
            assert time.monotonic() - started < 2.5
        fp.drain()


# ---------------------------------------------------------------- apply under each fault


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULTS)
def test_apply_under_fault_then_converges(fault, workspace, gateway, admin, gatewayctl):
    reset_gateway(admin)
    prefix = "f" + "".join(ch for ch in fault if ch.isalnum())[:8] + "x"
    desired, removed = seed_then_change(workspace, gatewayctl, prefix)
    # Writes only (reads are retried anyway; the client tests cover them): the first write is
    # always hit, then each later one with probability 0.3.
    with FaultProxy(gateway.base_url, seed=FAULTS.index(fault), probabilities={fault: 0.3}, schedule=[fault],
                    methods=["POST"], retry_after=0.3, slow_seconds=2.0) as fp:
        proc = gatewayctl("apply", "--confirm", *OVERRIDES, "--base-url", fp.url, "--timeout", "1.5", "--retries", "2")
        assert fp.drain(60)
        injected = fp.faults_injected()
    no_traceback(proc)
    assert injected.get(fault, 0) > 0, f"fault {fault} was never injected: {injected}"
    assert proc.returncode in (0, 1), proc.stderr
    if proc.returncode == 1:
        assert "FAILED" in proc.stderr or "error:" in proc.stderr, proc.stderr
        assert "re-run" in proc.stderr or "error:" in proc.stderr
    assert crash_consistent(admin) == []
    again = gatewayctl("apply", "--confirm", *OVERRIDES)
    no_traceback(again)
    assert again.returncode == 0, again.stderr
    converged(gatewayctl, admin, desired, removed)


@pytest.mark.slow
def test_apply_under_every_fault_at_once(workspace, gateway, admin, gatewayctl):
    reset_gateway(admin)
    desired, removed = seed_then_change(workspace, gatewayctl, "fmixx", n=6)
    with FaultProxy(gateway.base_url, seed=7, probabilities={f: 0.05 for f in FAULTS}, schedule=["ok", "reset"],
                    retry_after=0.3, slow_seconds=2.0) as fp:
        proc = gatewayctl("apply", "--confirm", *OVERRIDES, "--base-url", fp.url, "--timeout", "1.5", "--retries",
                          "3", "--concurrency", "8")
        assert fp.drain(60)
        assert fp.faults_injected()
    no_traceback(proc)
    assert proc.returncode in (0, 1)
    assert crash_consistent(admin) == []
    assert gatewayctl("apply", "--confirm", *OVERRIDES).returncode == 0
    converged(gatewayctl, admin, desired, removed)


def test_unreachable_gateway_is_a_clear_error(workspace, gatewayctl):
    with socket_nobody_listens() as url:
        proc = gatewayctl("apply", "--confirm", "--base-url", url, "--timeout", "1", "--retries", "1")
    no_traceback(proc)
    assert proc.returncode == 1
    assert "error:" in proc.stderr and "cannot connect" in proc.stderr


class socket_nobody_listens:
    def __enter__(self) -> str:
        import socket

        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        return f"http://127.0.0.1:{self.s.getsockname()[1]}"

    def __exit__(self, *exc) -> None:
        self.s.close()


# ---------------------------------------------------------------- SIGKILL at random points

EXPECTED_WRITES = 30  # creates 4x3, moves 3x4, rotation 3, revocations 3 (LiteLLM calls only)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_sigkill_during_apply_then_converges(seed, workspace, gateway, admin, gatewayctl, aws_env):
    """Kill -9 an apply that creates, moves tiers, rotates and revokes; the next run converges.

    The kill lands right after the k-th LiteLLM write reaches the fault proxy (k random), plus
    a random 0-150 ms, so over seeds it hits every phase: secret written but key not yet
    generated, rotation half done, tier membership half moved, revocation pending."""
    rng = random.Random(seed)
    reset_gateway(admin)
    prefix = f"k{seed}u"
    ids = generate_users(workspace, 8, prefix=prefix)
    gatewayctl("apply", "--confirm", check=True)
    new = [f"{prefix}{900 + i:05d}" for i in range(4)]
    for i, uid in enumerate(new):
        write_user(workspace, uid, ("drafting", "coding")[i % 2])
    for uid in ids[:3]:  # drafting/coding/architect -> next tier
        tier = {"drafting": "coding", "coding": "architect", "architect": "drafting"}[
            ("drafting", "coding", "architect")[ids.index(uid) % 3]]
        write_user(workspace, uid, tier)
    removed = ids[5:]
    for uid in removed:
        (workspace / "users" / f"{uid}.yaml").unlink()
    desired = [*ids[:5], *new]
    rotate = ids[3]

    kill_at = rng.randint(1, EXPECTED_WRITES)
    with FaultProxy(gateway.base_url, seed=seed, delay=(0.01, 0.12)) as fp:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "apply", "--confirm", *OVERRIDES, "--base-url", fp.url, "--rotate",
             rotate],
            cwd=workspace, env=run_env(gateway, aws_env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            writes = sum(1 for r in list(fp.records) if r.method == "POST")
            if writes >= kill_at:
                time.sleep(rng.uniform(0, 0.15))
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        _out, err = proc.communicate(timeout=60)
        assert fp.drain(60)
    killed = proc.returncode == -signal.SIGKILL
    posts = sum(1 for r in fp.records if r.method == "POST")
    print(f"seed {seed}: kill after write {kill_at}, killed={killed}, {posts} writes reached LiteLLM")
    if not killed:  # only acceptable when the apply needed fewer writes than kill_at
        assert proc.returncode == 0 and posts < kill_at, err
    problems = crash_consistent(admin)
    assert problems == [], f"seed {seed}, killed after write {kill_at}: {problems}"

    again = gatewayctl("apply", "--confirm", *OVERRIDES)
    no_traceback(again)
    assert again.returncode == 0, again.stderr
    converged(gatewayctl, admin, desired, removed)
    teams = {k["metadata"]["gitops_user_id"]: k["team_id"] for k in all_managed(admin)}
    for uid in ids[:3]:
        want = {"drafting": "coding", "coding": "architect", "architect": "drafting"}[
            ("drafting", "coding", "architect")[ids.index(uid) % 3]]
        assert teams[uid] == f"tier-{want}"
        info = admin.get("/user/info", params={"user_id": uid}).json()
        member_of = {t for t in (info.get("user_info") or {}).get("teams") or [] if t.startswith("tier-")}
        assert member_of == {f"tier-{want}"}, f"{uid} is in {member_of}"


# ---------------------------------------------------------------- two applies at once


@pytest.mark.slow
def test_two_applies_at_once_one_refuses_one_waits(workspace, gateway, admin, gatewayctl, aws_env):
    reset_gateway(admin)
    desired = generate_users(workspace, 6, prefix="lockx")
    env = run_env(gateway, aws_env)
    lock = workspace / ".gatewayctl" / "apply.lock"
    with FaultProxy(gateway.base_url, delay=(0.2, 0.3)) as fp:  # a slow first apply
        first = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", "--confirm", "--base-url", fp.url],
                                 cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not (lock.is_file() and lock.read_text().strip() == str(first.pid)):
            assert first.poll() is None and time.monotonic() < deadline, "first apply never took the lock"
            time.sleep(0.02)
        refused = gatewayctl("apply", "--confirm")
        waiter = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", "--confirm", "--wait-lock", "120"],
                                  cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        assert first.poll() is None, "the first apply ended too early for this test to mean anything"
        _f_out, f_err = first.communicate(timeout=180)
        w_out, w_err = waiter.communicate(timeout=180)
        fp.drain()
    no_traceback(refused)
    assert refused.returncode == 1
    assert "another apply holds" in refused.stderr and "apply.lock" in refused.stderr
    assert first.returncode == 0, f_err
    assert "Traceback" not in w_err
    assert waiter.returncode == 0, w_err
    assert "0 write(s)" in w_err or "No changes" in w_out or "no changes" in w_out.lower(), w_out + w_err
    audit = (workspace / "gatewayctl-audit.jsonl").read_text().splitlines()
    assert len(audit) == 2  # the refused run wrote nothing
    converged(gatewayctl, admin, desired)


# ---------------------------------------------------------------- a crash inside the key store


class _Died(BaseException):
    """Stands for SIGKILL between two Secrets Manager calls."""


def test_crash_between_secret_value_and_tag_is_detected_by_the_next_plan(aws_env):
    from reconciler.live.keystore import new_key
    from reconciler.live.secretsmanager import SecretsManagerStore

    uid = f"tagrace{random.randrange(10**6)}"
    store = SecretsManagerStore(kms_key_id=aws_env["GATEWAYCTL_KMS_KEY_ID"])
    old = new_key()
    store.put(uid, old, key_alias=f"u-{uid}", commit="0" * 40)  # the live key, say
    real_put = store._sm.update_secret  # the call that writes a new value to an existing secret

    def put_then_die(**kwargs):
        real_put(**kwargs)
        raise _Died

    store._sm.update_secret = put_then_die
    with pytest.raises(_Died):
        store.put(uid, new_key(), key_alias=f"u-{uid}", commit="0" * 40)  # rotation, killed halfway
    tag = SecretsManagerStore().inventory()[uid]
    stored = secret_value_hash(uid)
    assert stored != key_hash(old)  # the old raw key is gone from the store ...
    assert tag != key_hash(old), "... yet the tag still says the old key is the stored one: plan sees no drift"
