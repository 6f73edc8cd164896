"""Exact RPM under several workers: the genuine proxy with `--num_workers 2`, with and without Redis.

A Drafting user (team_member_rpm_limit 10, created by `gatewayctl apply`) sends 30 cheap
requests inside one minute over fresh connections, so both workers receive some.

- With Redis (Debian's redis-server on a free port, REDIS_HOST/REDIS_PORT in the proxy's
  environment): exactly 10 are admitted, the rest get 429. LiteLLM 1.108.7 builds its
  coordination Redis from the REDIS_* environment variables when neither
  `general_settings.coordination_redis` nor a Redis response cache is configured
  (proxy_server.py `_init_coordination_redis_env_fallback`, after a 2 s ping), and hands it to
  `ProxyLogging.update_values(redis_cache=...)`, i.e. the internal usage cache the parallel
  request limiter v3 counts in. So gateway/config.yaml needs no cache block for this.
- `--timeout_worker_healthcheck 120`: uvicorn 0.54's supervisor pings each worker every 0.5 s
  and kills one that does not answer within 5 s (default); a worker importing LiteLLM on a
  busy 2-core machine misses that, so the proxy restarts its workers forever.
- Without Redis: each worker counts on its own, so more than 10 get through (at most 20):
  the documented over-admission.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from helpers import chat, run_gatewayctl_in_process, secret_key, write_user

REPO = Path(__file__).resolve().parents[1]
REQUESTS = 30
LIMIT = 10  # policies/tiers.yaml: drafting rpm_limit

# ADR 0003. Two proxies of its own (the shared one runs one worker): `make test-contract` runs it, on a
# LiteLLM bump; `make test` shows the 429 itself on the shared proxy (test_e2e_gateway.py, test_clients.py).
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.litellm_contract, pytest.mark.contract_only]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory) -> int:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed (CI installs it: apt-get install -y redis-server)")
    port = _free_port()
    data = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("redis-server did not start")
        time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def proxies(redis_port, tmp_path_factory):
    """Two 2-worker proxies, started side by side: one with Redis, one without."""
    from reconciler import localgateway

    env_without = {k: "" for k in ("REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD") if os.environ.get(k)}
    setups = {"redis": {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis_port)}, "none": env_without}
    started, errors = {}, {}

    def start(name):
        try:
            started[name] = localgateway.start(
                REPO, tmp_path_factory.mktemp(f"gw-{name}"), env=setups[name],
                litellm_args=("--num_workers", "2", "--timeout_worker_healthcheck", "120"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors[name] = exc

    threads = [threading.Thread(target=start, args=(n,)) for n in setups]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        if errors:
            pytest.fail(f"cannot start the LiteLLM harness: {errors}")
        yield started
    finally:
        for h in started.values():
            h.stop()


def drafting_key(harness, workspace: Path, aws_env: dict, user_id: str) -> str:
    for p in (workspace / "users").glob("*.yaml"):
        p.unlink()
    write_user(workspace, user_id, "drafting")
    env = {**os.environ, **aws_env, "LITELLM_BASE_URL": harness.base_url, "LITELLM_MASTER_KEY": harness.master_key,
           "GITHUB_SHA": "0" * 40}
    proc = run_gatewayctl_in_process(("apply", "--confirm"), workspace, env)
    assert proc.returncode == 0, proc.stderr
    return secret_key(user_id)


def burst(base_url: str, key: str) -> dict[int, int]:
    """REQUESTS calls, 6 at a time, each on a new connection (so the kernel spreads them over workers)."""
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(lambda _: chat(base_url, key, "model-cheap").status_code, range(REQUESTS)))
    out: dict[int, int] = {}
    for c in codes:
        out[c] = out.get(c, 0) + 1
    return out


def test_two_workers_with_redis_admit_exactly_the_tier_rpm(proxies, workspace, aws_env):
    h = proxies["redis"]
    key = drafting_key(h, workspace, aws_env, f"rpmredis{os.getpid()}")
    started = time.monotonic()
    codes = burst(h.base_url, key)
    assert time.monotonic() - started < 50, "the burst must fit in one rate-limit window"
    assert set(codes) <= {200, 429}, codes
    assert codes.get(200) == LIMIT, f"with Redis, 2 workers admitted {codes.get(200)} of {REQUESTS}: {codes}"
    log = Path(h.proxy_log).read_text(errors="replace")
    assert "Redis is not configured" not in log and "not reachable" not in log, "the proxy did not use Redis"


def test_two_workers_without_redis_over_admit(proxies, workspace, aws_env):
    h = proxies["none"]
    key = drafting_key(h, workspace, aws_env, f"rpmlocal{os.getpid()}")
    codes = burst(h.base_url, key)
    assert set(codes) <= {200, 429}, codes
    admitted = codes.get(200, 0)
    # Each worker counts alone: up to 2 x 10. Exactly 10 would mean the kernel sent every
    # request to one worker (then this test proves nothing and fails loudly).
    assert LIMIT < admitted <= 2 * LIMIT, f"without Redis, 2 workers admitted {admitted}: {codes}"
    assert httpx.get(f"{h.base_url}/health/liveliness", timeout=10, trust_env=False).status_code == 200
    assert "Redis is not configured" in Path(h.proxy_log).read_text(errors="replace")
