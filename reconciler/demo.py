"""`make demo`: the main job, end to end, on this machine.

Starts the embedded gateway (the genuine LiteLLM proxy through ../shared/litellm-harness, with
gateway/config.yaml pointed at a fake Bedrock), then runs validate -> plan -> apply, and shows
one allowed and one refused call. Keys go to 0600 files under .gatewayctl/demo/keys and are
never printed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from reconciler import localgateway

ROOT = Path(__file__).resolve().parent.parent


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


def main() -> int:
    work = ROOT / ".gatewayctl" / "demo"
    shutil.rmtree(work, ignore_errors=True)
    print("Starting the embedded gateway (genuine LiteLLM 1.108.7 + PostgreSQL + fake Bedrock, ~45 s)...",
          flush=True)
    gateway = localgateway.start(ROOT, work, echo=open(os.devnull, "w"))
    try:
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
    finally:
        gateway.stop()
    print("Demo finished; the embedded gateway is stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
