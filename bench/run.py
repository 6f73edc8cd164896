"""Benchmarks for gatewayctl (`make bench`). Prints figures; not a test.

1. `validate` on 100 / 1,000 / 10,000 generated users: wall time, CPU time and peak RSS of
   the gatewayctl process (os.wait4 on that one child).
2. `report --month` over a month of 100,000 and then 1,000,000 spend-log rows, seeded straight into
   the harness's PostgreSQL: wall, rows/s, CPU, peak RSS (flat = bounded memory), calls.
3. Zero-change `plan --show-calls` against the genuine LiteLLM proxy (the harness) holding
   100 / 1,000 managed users (seeded through `gatewayctl apply`): LiteLLM calls by path, key-store
   calls, wall and CPU of the reconciler process, versus the floor (one call per 100 objects per
   list endpoint, plus one /team/info per tier team).
4. Growth: one gateway grown from 0 to 10,000 users by `apply --confirm`, 1,000 new users per run
   (one LiteLLM worker, keys to moto's Secrets Manager): users/s per step, end to end and for the
   apply itself, with the load average beside each figure; then the zero-change plan at 10,000.
   Each step is a git commit applied `--changed-since` the previous one, as the deploy does (the
   line says what was read); `--grow-full-read` reads the whole gateway every step instead.
Optional: `--concurrency 1,2,4,8` adds a sweep of apply concurrency on `--apply-users` users.

Usage: python bench/run.py [--validate-sizes 100,1000,10000] [--plan-sizes 100,1000]
                           [--report-rows 100000,1000000] [--grow-to 10000] [--grow-step 1000] [--grow-full-read]
                           [--concurrency 1,2,4,8] [--skip validate,apply,grow,plan,report] [--json FILE]
Needs ../shared/litellm-harness (or LITELLM_HARNESS_DIR), psql, and moto (dev requirements).
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

from reconciler.desired import shards  # noqa: E402
from reconciler.desired.validate import load_desired  # noqa: E402

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


OVERRIDES = ("--allow-mass-revocation", "--allow-mass-rotation", "--allow-mass-move", "--allow-mass-prune",
             "--allow-mass-change")


def apply(env: Env, ws: Path, concurrency: int, prefix: str) -> dict:
    # A benchmark run replaces what the last one left: every safety limit is lifted on purpose.
    args = ["apply", "--confirm", *OVERRIDES, "--concurrency", str(concurrency), "--secret-prefix", prefix,
            "--timeout", "120"]
    r = run_measured(args, ws, env.env)
    if r["rc"] != 0:  # a failed user does not stop the others; the next run converges
        say(f"        apply reported failures ({r['stderr'].strip().splitlines()[-2]}); re-running it")
        again = run_measured(args, ws, env.env)
        if again["rc"] != 0:
            raise SystemExit(f"apply failed twice: {again['stderr'][-2000:]}")
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


def floor_calls(n_users: int, teams: int = 3) -> dict:
    pages = lambda k: max(1, math.ceil(k / 100))  # noqa: E731
    # /budget/list 1 + /v2/team/list per 100 teams + /team/info 1 per tier team (memberships and their budget
    # rows; a tier with `teams: N` has N) + /user/list (+ LiteLLM's default_user_id) + /key/list
    return {"litellm": 1 + pages(teams) + teams + pages(n_users + 1) + pages(n_users), "key_store": pages(n_users)}


def audit_tail(ws: Path) -> dict:
    return json.loads((ws / "gatewayctl-audit.jsonl").read_text().splitlines()[-1])


def git_commit_all(ws: Path, message: str) -> str:
    """Commit the workspace as it is (the growth run's steps are commits, as deploys are); its sha."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ws), "-c", "user.name=bench", "-c", "user.email=bench@example.com",
                               "-c", "commit.gpgsign=false", *args], check=True, capture_output=True,
                              text=True).stdout

    if not (ws / ".git").exists():
        shutil.copy(REPO / ".gitignore", ws / ".gitignore")  # gatewayctl's own files are not changes
        git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "--allow-empty", "-m", message)
    return git("rev-parse", "HEAD").strip()


def teams_for(total_users: int, tiers: int = 3) -> int:
    """The `teams` validate asks for once the grown gateway holds `total_users` (spread over `tiers`)."""
    return max(1, math.ceil(math.ceil(total_users / tiers) / shards.MAX_USERS_PER_TEAM))


def spread_tiers(ws: Path, teams: int) -> None:
    """Set `teams:` on every tier of the workspace's tiers.yaml, as an operator would before growing."""
    path = ws / "policies" / "tiers.yaml"
    text, n = re.subn(r"^(  [a-z][a-z0-9-]*:\n)", rf"\1    teams: {teams}\n", path.read_text(), flags=re.M)
    if not n:
        raise SystemExit(f"no tier found in {path}")
    path.write_text(text)


def bench_apply_growth(env: Env, total: int, step: int, concurrency: int, member_batch: int,
                       full_read: bool = False, teams: int = 1) -> Path:
    """Grow one gateway from 0 to `total` users, `step` new users per `apply --confirm`: users per
    second for each step, end to end (process wall, including reading the live state) and for the
    apply itself (the audit record's execute_s). Each step is a git commit, applied as the deploy
    does: `--changed-since` the previous step's commit, so only the new users are read; with
    `full_read` (--grow-full-read) every step reads the whole gateway, as before. Returns the workspace."""
    mode = "full read" if full_read else "--changed-since the previous step"
    say(f"\n== apply --confirm growing the gateway to {total} users, {step} new users per run ({mode}), "
        f"teams: {teams} per tier, concurrency {concurrency}, --member-batch {member_batch}; "
        f"keys to moto's Secrets Manager ({load()}) ==")
    say(f"{'users':>13} {'wall s':>7} {'users/s':>8} {'execute s':>9} {'users/s':>8} {'cpu s':>6} {'writes':>7}  load")
    ws = new_workspace()
    if teams > 1:
        spread_tiers(ws, teams)
    reset_gateway(env.admin)
    rows = []
    previous = git_commit_all(ws, "the sample users")
    for start in range(0, total, step):
        end = min(total, start + step)
        generate_users(ws, end, prefix="grow")
        commit = git_commit_all(ws, f"grow to {end} users")
        scope = [] if full_read else ["--changed-since", previous]
        r = run_measured(["apply", "--confirm", *OVERRIDES, *scope, "--concurrency", str(concurrency),
                          "--member-batch", str(member_batch), "--secret-prefix", "bench/grow/", "--timeout", "120"],
                         ws, env.env)
        note = re.search(r"^note: (scoped to \d+ user\(s\)|full plan[^\n]*)", r["stderr"], re.M)
        read = note.group(1) if note else "full read"
        audit = audit_tail(ws)
        failed = [a for a in audit["actions"] if a["result"] != "ok"]
        if r["rc"] != 0:  # a failed user does not stop the others; the next run converges (measured apart)
            say(f"        {len(failed)} failed: {[(a['target'], a['error']) for a in failed[:3]]}; re-running apply")
            again = run_measured(["apply", "--confirm", *OVERRIDES, *scope, "--secret-prefix", "bench/grow/",
                                  "--timeout", "120"], ws, env.env)
            if again["rc"] != 0:
                raise SystemExit(f"apply failed twice at {start}-{end}: {again['stderr'][-2000:]}")
        n = end - start
        la = os.getloadavg()
        rows.append({"users_from": start, "users_to": end, "wall_s": round(r["wall"], 1),
                     "users_per_s": round(n / r["wall"], 1), "execute_s": audit.get("execute_s"),
                     "execute_users_per_s": round(n / audit["execute_s"], 1) if audit.get("execute_s") else None,
                     "cpu_s": round(r["cpu"], 1), "writes": audit.get("gateway_writes"), "load": la,
                     "phases_s": audit.get("phases_s"), "failed_then_converged": len(failed), "read": read})
        previous = commit
        row = rows[-1]
        ph = row["phases_s"] or {}
        say(f"{start:>6}-{end:<6} {r['wall']:>7.1f} {row['users_per_s']:>8.1f} {row['execute_s'] or 0:>9.1f} "
            f"{row['execute_users_per_s'] or 0:>8.1f} {r['cpu']:>6.1f} {row['writes']!s:>7}  "
            f"{la[0]:.1f} {la[1]:.1f} {la[2]:.1f}  (users {ph.get('before_membership', 0):.0f} s, memberships "
            f"{ph.get('memberships', 0):.0f} s, keys {ph.get('after_membership', 0):.0f} s; read: {read})")
    first, last = rows[0], rows[-1]
    for key in ("users_per_s", "execute_users_per_s"):
        if first[key] and last[key]:
            say(f"        {key}: last step / first step = {last[key] / first[key]:.2f}")
    RESULTS["apply_growth"] = rows
    return ws


def measure_plan(env: Env, ws: Path, n: int, prefix: str) -> dict:
    plan_args = ["plan", "--show-calls", "--detailed-exitcode", "--secret-prefix", prefix, "--timeout", "300"]
    r = run_measured(plan_args, ws, env.env)
    if r["rc"] != 0:
        raise SystemExit(f"plan at {n} is not zero-change (exit {r['rc']}): {r['stdout'][-1500:]}")
    m = re.search(r"calls: (\d+) to LiteLLM \((\{.*?\})\), (\d+) to the key store", r["stderr"])
    fl = floor_calls(n, sum(t.teams for t in load_desired(ws).tiers.values()))
    # The share of the plan's CPU that is reading and checking the files: `validate` on the same tree
    # (the rest is start-up, reading LiteLLM and the key store, and the diff).
    v = run_measured(["validate"], ws, env.env)
    row = {"users": n, "plan_wall_s": round(r["wall"], 2), "plan_cpu_s": round(r["cpu"], 2),
           "plan_peak_rss_mb": round(r["maxrss_mb"], 1), "litellm_calls": int(m.group(1)), "by_path": m.group(2),
           "key_store_calls": int(m.group(3)), "floor": fl, "validate_cpu_s": round(v["cpu"], 2),
           "load": os.getloadavg()}
    say(f"{n:>7} {'':>8} {'':>8} {r['wall']:>11.2f} {r['cpu']:>10.2f} {r['maxrss_mb']:>7.1f} "
        f"{row['litellm_calls']:>13} {fl['litellm']:>6} {row['key_store_calls']:>8} {fl['key_store']:>6}")
    say(f"        by path: {row['by_path']}; of the plan's CPU, `validate` of the same files takes "
        f"{v['cpu']:.2f} s; {load()}")
    return row


def bench_plan(env: Env, sizes: list[int]) -> None:
    say(f"\n== zero-change plan --show-calls (managed users seeded through apply; {load()}) ==")
    say(f"{'users':>7} {'seed s':>8} {'seed u/s':>8} {'plan wall s':>11} {'plan cpu s':>10} "
        f"{'RSS MB':>7} {'LiteLLM calls':>13} {'floor':>6} {'SM calls':>8} {'floor':>6}")
    ws = new_workspace()
    rows = []
    reset_gateway(env.admin)
    have = 0
    for n in sorted(sizes):
        generate_users(ws, n, prefix="plan")
        started = time.monotonic()
        apply(env, ws, 4, "bench/plan/")
        seed = time.monotonic() - started
        say(f"        seeded {n - have} users in {seed:.1f} s ({(n - have) / seed:.1f} users/s)")
        rows.append({**measure_plan(env, ws, n, "bench/plan/"), "seed_s": round(seed, 1),
                     "seed_users_per_s": round((n - have) / seed, 1)})
        have = n
    RESULTS.setdefault("plan", []).extend(rows)
    shutil.rmtree(ws)


SEED_SPEND_SQL = """
INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, total_tokens, prompt_tokens,
    completion_tokens, "startTime", "endTime", model, model_group, custom_llm_provider, "user", team_id,
    metadata, status)
SELECT 'bench-' || g, 'acompletion', md5('bench-key-' || (g % {users})), (g % 997) * 0.000013, 1100, 1000, 100,
       t, t + interval '2 second', 'global.anthropic.claude-haiku-4-5-20251001-v1:0', 'model-cheap', 'bedrock',
       'report' || lpad((g % {users})::text, 5, '0'), 'tier-drafting', {metadata}::jsonb, 'success'
FROM generate_series({first}, {last}) AS g,
     LATERAL (SELECT timestamp '{start}' + g * interval '{step} microseconds') AS s(t)
"""


def bench_report(env: Env, sizes: list[int], users: int = 1000) -> None:
    """`gatewayctl report` over a month holding N spend-log rows. The API cannot write a million rows
    in reasonable time on this machine (about 45 paid calls/s on one worker), so the rows are seeded
    straight into the harness's PostgreSQL with one INSERT ... SELECT generate_series, shaped like the
    rows LiteLLM writes (user, key hash, team, model, spend, a ~700-byte metadata document)."""
    if env.h is None:
        say("\n== report: skipped (needs the harness's database; not available with LITELLM_BENCH_BASE_URL) ==")
        return
    month, start = "2026-11", "2026-10-31 18:30:00"  # November in Asia/Kolkata, as UTC
    say(f"\n== report --month {month} over N spend-log rows seeded into PostgreSQL ({users} users; {load()}) ==")
    say(f"{'rows':>9} {'seed s':>7} {'wall s':>8} {'rows/s':>8} {'cpu s':>7} {'peak RSS MB':>11} {'calls':>6}  load")
    ws = new_workspace()
    generate_users(ws, users, prefix="report")
    git_env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
               "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
               "GIT_AUTHOR_DATE": "2026-10-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-10-01T00:00:00Z"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "bench users"]):
        subprocess.run(["git", *args], cwd=ws, env=git_env, check=True, capture_output=True)
    metadata = json.dumps({"user_api_key_alias": "u-report00001",  # pragma: allowlist secret (an alias)
                           "user_api_key_team_id": "tier-drafting",
                           "user_api_key_user_id": "report00001", "model_group": "model-cheap",
                           "additional_usage_values": {"prompt_tokens_details": None}, "status": "success",
                           "mcp_tool_call_metadata": None, "requester_ip_address": "10.0.3.17",
                           "spend_logs_metadata": None, "usage_object": {"completion_tokens": 100,
                           "prompt_tokens": 1000, "total_tokens": 1100}, "model_map_information": {
                           "model_map_key": "global.anthropic.claude-haiku-4-5-20251001-v1:0",
                           "model_map_value": {"input_cost_per_token": 1e-06, "output_cost_per_token": 5e-06}},
                           "x": "y" * 200})
    seeded, rows = 0, []
    for n in sorted(sizes):
        step_us = int(30 * 86400 * 1e6 / (max(sizes) + 1))  # spread the largest size over the month
        t0 = time.monotonic()
        sql = SEED_SPEND_SQL.format(users=users, first=seeded + 1, last=n, start=start, step=step_us,
                                    metadata="'" + metadata.replace("'", "''") + "'")
        subprocess.run(["psql", env.h.database_url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True,
                       capture_output=True)
        subprocess.run(["psql", env.h.database_url, "-q", "-c", 'ANALYZE "LiteLLM_SpendLogs"'], check=True,
                       capture_output=True)
        seed_s, seeded = time.monotonic() - t0, n
        r = run_measured(["report", "--month", month, "--format", "json", "--timeout", "300"], ws, env.env)
        if r["rc"] != 0:
            raise SystemExit(f"report failed at {n} rows: {r['stderr'][-2000:]}")
        report = json.loads(r["stdout"])
        la = os.getloadavg()
        rows.append({"rows": report["spend_rows"], "seed_s": round(seed_s, 1), "wall_s": round(r["wall"], 1),
                     "rows_per_s": round(report["spend_rows"] / r["wall"]), "cpu_s": round(r["cpu"], 1),
                     "peak_rss_mb": round(r["maxrss_mb"], 1), "calls": report["gateway_calls"],
                     "total_usd": report["gateway_total_usd"], "difference_usd": report["difference_usd"], "load": la})
        row = rows[-1]
        say(f"{row['rows']:>9,} {seed_s:>7.1f} {r['wall']:>8.1f} {row['rows_per_s']:>8,} {r['cpu']:>7.1f} "
            f"{r['maxrss_mb']:>11.1f} {row['calls']:>6}  {la[0]:.1f} {la[1]:.1f} {la[2]:.1f}")
        if row["rows"] != n:
            raise SystemExit(f"report read {row['rows']} rows, {n} were seeded")
    RESULTS["report"] = rows
    shutil.rmtree(ws)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    p.add_argument("--validate-sizes", type=ints, default=[100, 1000, 10000])
    p.add_argument("--plan-sizes", type=ints, default=[100, 1000],
                   help="gateways seeded through apply for the zero-change plan (the grown gateway adds its size)")
    p.add_argument("--apply-users", type=int, default=1000, help="users per level of the concurrency sweep")
    p.add_argument("--concurrency", type=ints, default=[],
                   help="concurrency sweep, e.g. 1,2,4,8 (default: none; the growth run uses 4)")
    p.add_argument("--grow-to", type=int, default=10000,
                   help="apply growth run: users in the end (default 10000; then the zero-change plan there)")
    p.add_argument("--grow-step", type=int, default=1000, help="new users per apply in the growth run")
    p.add_argument("--grow-full-read", action="store_true",
                   help="growth run: every apply reads the whole gateway (default: --changed-since the previous "
                        "step's commit, as the deploy runs it)")
    p.add_argument("--grow-teams", type=int, default=0,
                   help="growth run: `teams:` per tier (default 0: what validate asks for at --grow-to users, "
                        f"at most {shards.MAX_USERS_PER_TEAM} per team; 1: one team per tier)")
    p.add_argument("--member-batch", type=int, default=100, help="apply --member-batch for the growth run")
    p.add_argument("--report-rows", type=ints, default=[100000, 1000000],
                   help="spend-log rows in the report month (each size adds rows to the last; default 100000,1000000)")
    p.add_argument("--skip", default="", help="comma-separated: validate,apply,grow,plan,report")
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
        if {"apply", "plan", "grow", "report"} - skip:
            env = Env()
            try:
                if "report" not in skip and args.report_rows:
                    bench_report(env, args.report_rows)
                small = [n for n in args.plan_sizes if n <= 1000]
                big = [n for n in args.plan_sizes if n > 1000]
                if "plan" not in skip and small:
                    bench_plan(env, small)
                if "apply" not in skip and args.concurrency:
                    bench_apply(env, args.apply_users, args.concurrency)
                if "plan" not in skip and big:
                    bench_plan(env, big)
                if "grow" not in skip and args.grow_to:  # last: the slowest part
                    ws = bench_apply_growth(env, args.grow_to, args.grow_step, 4, args.member_batch,
                                            full_read=args.grow_full_read,
                                            teams=args.grow_teams or teams_for(args.grow_to))
                    say(f"\n== zero-change plan on the grown gateway ({load()}) ==")
                    say(f"{'users':>7} {'':>8} {'':>8} {'plan wall s':>11} {'plan cpu s':>10} "
                        f"{'RSS MB':>7} {'LiteLLM calls':>13} {'floor':>6} {'SM calls':>8} {'floor':>6}")
                    RESULTS.setdefault("plan", []).append(measure_plan(env, ws, args.grow_to, "bench/grow/"))
                    shutil.rmtree(ws)
            finally:
                env.close()
    finally:
        if args.json:
            args.json.write_text(json.dumps(RESULTS, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
