"""Benchmarks for gatewayctl (`make bench`). Prints figures; not a test.

1. `validate` on 100 / 1,000 / 10,000 generated users: wall time, CPU time and peak RSS of
   the gatewayctl process (os.wait4 on that one child).
2. `apply --confirm` creating N users (default 1,000) from an empty gateway, at concurrency
   1, 2, 4, 8: users per second.
3. Zero-change `plan --show-calls` against the genuine LiteLLM proxy (the harness) holding
   100 / 1,000 / 10,000 managed users: LiteLLM calls by path, key-store calls, wall time and
   CPU time of the reconciler process itself, versus the floor of one call per 100 objects
   per list endpoint. Managed users are seeded through `gatewayctl apply` itself (concurrency 8),
   so every row is exactly what apply creates.

Usage: python bench/run.py [--validate-sizes 100,1000,10000] [--plan-sizes 100,1000[,10000]]
                           [--apply-users 1000] [--concurrency 1,2,4,8] [--json FILE]
Needs ../shared/litellm-harness (or LITELLM_HARNESS_DIR) and moto (dev requirements).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import httpx  # noqa: E402
from helpers import generate_users, reset_gateway  # noqa: E402

RESULTS: dict = {}


def say(text: str = "") -> None:
    print(text, flush=True)


def new_workspace() -> Path:
    root = Path(tempfile.mkdtemp(prefix="gatewayctl-bench-"))
    for name in ("policies", "schemas", "users", "gateway"):
        shutil.copytree(REPO / name, root / name)
    return root


def run_measured(args: list[str], cwd: Path, env: dict | None = None) -> dict:
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "reconciler", *args], cwd=cwd, env=env, stdout=out,
                                stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return {"rc": proc.returncode, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                "maxrss_mb": usage.ru_maxrss / 1024, "stdout": out.read(), "stderr": err.read()}


def load() -> str:
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def bench_validate(sizes: list[int]) -> None:
    say(f"== validate (generated users; one gatewayctl process each; {load()}) ==")
    say(f"{'users':>7} {'wall s':>8} {'cpu s':>8} {'peak RSS MB':>12} {'us/user':>9}")
    rows = []
    for n in sizes:
        ws = new_workspace()
        generate_users(ws, n)
        r = run_measured(["validate", "--today", "2026-01-15"], ws)
        if r["rc"] != 0:
            raise SystemExit(f"validate failed at {n}: {r['stdout'][-500:]}{r['stderr'][-500:]}")
        rows.append({"users": n, "wall_s": round(r["wall"], 3), "cpu_s": round(r["cpu"], 3),
                     "peak_rss_mb": round(r["maxrss_mb"], 1)})
        say(f"{n:>7} {r['wall']:>8.2f} {r['cpu']:>8.2f} {r['maxrss_mb']:>12.1f} {1e6 * r['wall'] / n:>9.0f}")
        shutil.rmtree(ws)
    RESULTS["validate"] = rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Env:
    """moto + the harness; or, with LITELLM_BENCH_BASE_URL/LITELLM_BENCH_MASTER_KEY, a running
    gateway (every key, user and team on it is deleted)."""

    def __init__(self):
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)

        from reconciler import localgateway

        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
        self.moto.start()
        self.h = None
        base_url, master_key = os.environ.get("LITELLM_BENCH_BASE_URL"), os.environ.get("LITELLM_BENCH_MASTER_KEY")
        if not base_url:
            say("starting the LiteLLM harness (about 45 s)...")
            self.h = localgateway.start(REPO, Path(tempfile.mkdtemp(prefix="gatewayctl-bench-gw-")),
                                        echo=open(os.devnull, "w"))
            base_url, master_key = self.h.base_url, self.h.master_key
        self.admin = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {master_key}"},
                                  timeout=120, trust_env=False)
        self.env = {**os.environ, "LITELLM_BASE_URL": base_url, "LITELLM_MASTER_KEY": master_key,
                    "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.moto._port}", "AWS_REGION": "ap-south-1",
                    "AWS_DEFAULT_REGION": "ap-south-1", "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing", "GITHUB_SHA": "0" * 40}  # pragma: allowlist secret
        self.env.pop("AWS_PROFILE", None)
        import boto3

        kms = boto3.client("kms", endpoint_url=self.env["AWS_ENDPOINT_URL"], region_name="ap-south-1",
                           aws_access_key_id="testing",
                           aws_secret_access_key="testing")  # noqa: S106  # pragma: allowlist secret
        self.env["GATEWAYCTL_KMS_KEY_ID"] = kms.create_key()["KeyMetadata"]["Arn"]  # secrets need the project key

    def close(self):
        self.admin.close()
        if self.h is not None:
            self.h.stop()
        self.moto.stop()


def apply(env: Env, ws: Path, concurrency: int, prefix: str) -> dict:
    # A benchmark run replaces what the last one left: every safety limit is lifted on purpose.
    overrides = ["--allow-mass-revocation", "--allow-mass-rotation", "--allow-mass-move", "--allow-mass-prune",
                 "--allow-mass-change"]
    r = run_measured(["apply", "--confirm", *overrides, "--concurrency", str(concurrency),
                      "--secret-prefix", prefix, "--timeout", "120"], ws, env.env)
    if r["rc"] != 0:
        raise SystemExit(f"apply failed: {r['stderr'][-2000:]}")
    return r


def bench_apply(env: Env, n: int, levels: list[int]) -> None:
    say(f"\n== apply --confirm creating {n} users from an empty gateway ({load()}) ==")
    say(f"{'concurrency':>11} {'wall s':>8} {'users/s':>8} {'cpu s':>7} {'LiteLLM writes':>15}")
    ws = new_workspace()
    generate_users(ws, n, prefix="bench")
    rows = []
    for c in levels:
        reset_gateway(env.admin)
        r = apply(env, ws, c, f"bench/apply-c{c}/")
        writes = re.search(r"(\d+) write\(s\)", r["stderr"])
        rows.append({"concurrency": c, "users": n, "wall_s": round(r["wall"], 2),
                     "users_per_s": round(n / r["wall"], 1), "cpu_s": round(r["cpu"], 2),
                     "writes": int(writes.group(1)) if writes else None})
        say(f"{c:>11} {r['wall']:>8.1f} {n / r['wall']:>8.1f} {r['cpu']:>7.1f} {rows[-1]['writes']!s:>15}  ({load()})")
        rows[-1]["load"] = os.getloadavg()
    RESULTS["apply"] = rows
    shutil.rmtree(ws)


def floor_calls(n_users: int) -> dict:
    pages = lambda k: max(1, math.ceil(k / 100))  # noqa: E731
    # /budget/list 1 + /v2/team/list 1 (3 tiers) + /user/list (+ LiteLLM's default_user_id) + /key/list
    return {"litellm": 1 + 1 + pages(n_users + 1) + pages(n_users), "key_store": pages(n_users)}


def bench_plan(env: Env, sizes: list[int]) -> None:
    say(f"\n== zero-change plan --show-calls (managed users seeded through apply --concurrency 8; {load()}) ==")
    say(f"{'users':>7} {'seed s':>8} {'seed u/s':>8} {'plan wall s':>11} {'plan cpu s':>10} "
        f"{'RSS MB':>7} {'LiteLLM calls':>13} {'floor':>6} {'SM calls':>8} {'floor':>6}")
    ws = new_workspace()
    rows = []
    reset_gateway(env.admin)
    have = 0
    for n in sorted(sizes):
        generate_users(ws, n, prefix="plan")
        started = time.monotonic()
        apply(env, ws, 8, "bench/plan/")
        seed = time.monotonic() - started
        plan_args = ["plan", "--show-calls", "--detailed-exitcode", "--secret-prefix", "bench/plan/",
                     "--timeout", "300"]
        r = run_measured(plan_args, ws, env.env)
        reapplied = None
        if r["rc"] == 2:  # apply said ok but left drift (see docs/performance.md); converge, then measure
            reapplied = r["stdout"].strip().splitlines()[-1]
            say(f"        plan after seeding was not empty ({reapplied}); applying again")
            apply(env, ws, 8, "bench/plan/")
            r = run_measured(plan_args, ws, env.env)
        if r["rc"] != 0:
            raise SystemExit(f"plan at {n} is not zero-change (exit {r['rc']}): {r['stdout'][-1500:]}")
        m = re.search(r"calls: (\d+) to LiteLLM \((\{.*?\})\), (\d+) to the key store", r["stderr"])
        calls, by_path, sm = int(m.group(1)), m.group(2), int(m.group(3))
        fl = floor_calls(n)
        rows.append({"users": n, "seed_s": round(seed, 1), "seed_users_per_s": round((n - have) / seed, 1),
                     "plan_wall_s": round(r["wall"], 2), "plan_cpu_s": round(r["cpu"], 2),
                     "plan_peak_rss_mb": round(r["maxrss_mb"], 1), "litellm_calls": calls,
                     "by_path": by_path, "key_store_calls": sm, "floor": fl, "drift_after_seed": reapplied})
        say(f"{n:>7} {seed:>8.1f} {(n - have) / seed:>8.1f} {r['wall']:>11.2f} {r['cpu']:>10.2f} "
            f"{r['maxrss_mb']:>7.1f} {calls:>13} {fl['litellm']:>6} {sm:>8} {fl['key_store']:>6}")
        say(f"        by path: {by_path}; {load()}")
        have = n
    RESULTS.setdefault("plan", []).extend(rows)
    shutil.rmtree(ws)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    p.add_argument("--validate-sizes", type=ints, default=[100, 1000, 10000])
    p.add_argument("--plan-sizes", type=ints, default=[100, 1000],
                   help="add 10000 for the largest size (seeding it through apply takes ~35 min on 2 cores)")
    p.add_argument("--apply-users", type=int, default=1000)
    p.add_argument("--concurrency", type=ints, default=[1, 2, 4, 8])
    p.add_argument("--skip", default="", help="comma-separated: validate,apply,plan")
    p.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = p.parse_args()
    skip = set(args.skip.split(","))
    RESULTS["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform(terse=True),
                          "date": time.strftime("%Y-%m-%d", time.gmtime())}
    say(f"gatewayctl bench on {os.cpu_count()} CPU(s), Python {platform.python_version()}, "
        f"{RESULTS['machine']['date']}")
    try:
        if "validate" not in skip:
            bench_validate(args.validate_sizes)
        if {"apply", "plan"} - skip:
            env = Env()
            try:
                small = [n for n in args.plan_sizes if n <= 1000]
                big = [n for n in args.plan_sizes if n > 1000]
                if "plan" not in skip and small:
                    bench_plan(env, small)
                if "apply" not in skip:
                    bench_apply(env, args.apply_users, args.concurrency)
                if "plan" not in skip and big:  # last: seeding 10,000 users is the slowest part
                    bench_plan(env, big)
            finally:
                env.close()
    finally:
        if args.json:
            args.json.write_text(json.dumps(RESULTS, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
