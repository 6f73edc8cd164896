"""`make demo`: the main job, end to end, on this machine.

Needs a LiteLLM gateway to run against, and takes the first of:
1. the LiteLLM harness (../shared/litellm-harness, or $LITELLM_HARNESS_DIR): the genuine proxy
   on a local PostgreSQL with gateway/config.yaml pointed at a fake Bedrock;
2. Docker with the compose plugin: compose.yaml's stack (the official LiteLLM image, PostgreSQL and
   the fake Bedrock in tools/), as project `llm-gateway-demo`, removed again afterwards;
3. neither: two lines that say what is missing and the two ways to get it, exit 1.

Then it runs validate -> plan -> apply, and shows one allowed and one refused call. Keys go to 0600
files under .gatewayctl/demo/keys and are never printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from reconciler import localgateway

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_PROJECT = "llm-gateway-demo"
COMPOSE_URL = "http://127.0.0.1:4000"
COMPOSE_MASTER_KEY = "sk-local-dev-only"  # compose.yaml's default  # pragma: allowlist secret


@dataclass(frozen=True)
class Gateway:
    base_url: str
    master_key: str


def missing_gateway_message(repo_root: Path) -> str:
    """The two lines `make demo` prints when it has nothing to run the gateway with."""
    where = localgateway.harness_dir(repo_root)
    return (f"make demo needs a LiteLLM gateway: there is no LiteLLM harness at {where} and no Docker with "
            "`docker compose` on this machine.\n"
            "Either install Docker with the compose plugin and run `make demo` again, or put the litellm-harness "
            f"folder at {where} (or set LITELLM_HARNESS_DIR to it).")


def docker_compose() -> list[str] | None:
    """The docker compose command, when Docker and its compose plugin are installed."""
    docker = shutil.which("docker")
    if docker is None:
        return None
    try:
        ok = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return [docker, "compose"] if ok.returncode == 0 else None


@contextlib.contextmanager
def harness_gateway(work: Path) -> Iterator[Gateway]:
    print("Starting the embedded gateway (genuine LiteLLM 1.108.7 + PostgreSQL + fake Bedrock, ~45 s)...",
          flush=True)
    with open(os.devnull, "w") as quiet:
        h = localgateway.start(ROOT, work, echo=quiet)
        try:
            yield Gateway(h.base_url, h.master_key)
        finally:
            h.stop()


@contextlib.contextmanager
def compose_gateway(compose: list[str]) -> Iterator[Gateway]:
    base = [*compose, "-p", COMPOSE_PROJECT, "-f", str(ROOT / "compose.yaml")]
    env = {**os.environ, "LITELLM_MASTER_KEY": COMPOSE_MASTER_KEY}
    print("Starting the gateway with docker compose (official LiteLLM 1.108.7 image + PostgreSQL + fake Bedrock; "
          "the first run pulls the images)...", flush=True)
    try:
        if subprocess.run([*base, "up", "-d"], cwd=ROOT, env=env, check=False).returncode != 0:
            raise SystemExit("demo: `docker compose up` failed (its output is above); is the Docker engine running "
                             "and port 4000 free?")
        _wait_ready(COMPOSE_URL, seconds=600)
        yield Gateway(COMPOSE_URL, COMPOSE_MASTER_KEY)
    finally:
        subprocess.run([*base, "down", "-v"], cwd=ROOT, env=env, check=False, capture_output=True)


def _wait_ready(base_url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/health/readiness", timeout=5, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(2)
    raise SystemExit(f"demo: the gateway at {base_url} did not become ready in {seconds:.0f} s "
                     f"(docker compose -p {COMPOSE_PROJECT} logs litellm)")


def _run(title: str, args: list[str], env: dict, ok=(0, 2)) -> int:
    print(f"\n$ gatewayctl {' '.join(args)}    # {title}", flush=True)
    rc = subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=ROOT, env=env, check=False).returncode
    if rc not in ok:
        raise SystemExit(f"demo: `gatewayctl {args[0]}` exited {rc}")
    return rc


def _chat(base_url: str, key: str, model: str) -> tuple[int, str]:
    r = httpx.post(f"{base_url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                   json={"model": model, "messages": [{"role": "user", "content": "Say hi [[usage in=10 out=5]]"}]},
                   timeout=60, trust_env=False)
    try:
        body = r.json()
    except ValueError:
        return r.status_code, r.text[:120]
    if r.status_code == 200:
        return 200, body["choices"][0]["message"]["content"][:60]
    return r.status_code, str((body.get("error") or {}).get("type") or body)[:120]


def walkthrough(gateway: Gateway, work: Path) -> None:
    env = {**os.environ, "LITELLM_BASE_URL": gateway.base_url, "LITELLM_MASTER_KEY": gateway.master_key}
    rel = work.relative_to(ROOT)  # commands run from the repository root
    keys = ["--key-store", "file", "--key-dir", str(rel / "keys"), "--audit-log", str(rel / "audit.jsonl")]
    _run("schema + rules, file:line:col errors", ["validate"], env, ok=(0,))
    _run("what would change", ["plan", "--detailed-exitcode", *keys[:4]], env)
    _run("make it so", ["apply", "--confirm", *keys], env, ok=(0,))
    _run("a second plan finds nothing to do", ["plan", "--detailed-exitcode", *keys[:4]], env, ok=(0,))
    key_file = work / "keys" / "alice.json"
    key = json.loads(key_file.read_text())["api_key"]
    print(f"\nalice (Drafting tier) uses the key delivered to {key_file.relative_to(ROOT)} (not shown):")
    for model in ("model-cheap", "model-reasoning"):
        status, text = _chat(gateway.base_url, key, model)
        verdict = "allowed" if status == 200 else "refused"
        print(f"  {model:<16} -> HTTP {status} {verdict}: {text}")
    print(f"\nAudit record: {(work / 'audit.jsonl').relative_to(ROOT)}")


def main() -> int:
    work = ROOT / ".gatewayctl" / "demo"
    if localgateway.harness_available(ROOT):
        gateway = harness_gateway(work)
    else:
        compose = docker_compose()
        if compose is None:
            print(missing_gateway_message(ROOT), file=sys.stderr)
            return 1
        gateway = compose_gateway(compose)
    shutil.rmtree(work, ignore_errors=True)
    with gateway as running:
        walkthrough(running, work)
    print("Demo finished; the gateway is stopped.")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        print("demo: interrupted; the gateway is stopped", file=sys.stderr)
        raise SystemExit(130) from None
