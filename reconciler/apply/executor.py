"""Execute a plan's steps against LiteLLM, with bounded concurrency, progress and an audit line.

Steps of one user run in order; different users run in parallel (bounded, so the proxy's
5-connection database pool is not swamped). A failed user does not stop the others; the
run ends non-zero and the next run converges, because plans are always recomputed from
live state.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import getpass
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from reconciler import __version__
from reconciler.apply import membership_batch
from reconciler.errors import GatewayctlError, expected_io, redact
from reconciler.live.client import AdminClient, GatewayError
from reconciler.live.digest import json_digest
from reconciler.live.keystore import KeyStore, key_hash, new_key
from reconciler.plan import Action, Plan, Step
from reconciler.plan.steps import CALLS, RETIRING_HASH_ARG, Call, Op

DEFAULT_CONCURRENCY = 4


class LockBusy(GatewayctlError):
    """Another apply holds the lock."""


@contextlib.contextmanager
def apply_lock(path: Path, wait_seconds: float) -> Iterator[None]:
    """One apply at a time per checkout (CI adds a concurrency group across runners)."""
    with expected_io(f"cannot open the apply lock {path}"):
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+")
    with fh:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusy(f"another apply holds {path}; refusing to run concurrently") from None
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass
class ActionResult:
    kind: str
    target: str
    status: str  # ok | failed
    writes: int = 0
    key_hashes_created: list[str] = field(default_factory=list)
    key_hashes_deleted: list[str] = field(default_factory=list)
    error: str | None = None


class Executor:
    def __init__(self, client: AdminClient, store: KeyStore, *, commit: str, journal: Path | None = None,
                 out=None):
        self.client, self.store, self.commit, self.out = client, store, commit, out
        self.journal = journal
        self._print = threading.Lock()
        self.phase_s: dict[str, float] = {}  # wall time of each phase of the last execute()

    def _record(self, entry: dict) -> None:
        """Journal each finished action at once, so a killed apply still leaves its record behind."""
        if self.journal is not None:
            with self._print:
                append_jsonl(self.journal, entry)

    def _say(self, text: str) -> None:
        with self._print:
            print(text, file=self.out or sys.stderr, flush=True)  # stderr as it is now, not at import

    def run_step(self, step: Step, result: ActionResult) -> None:
        """One admin-API call, as reconciler/plan/steps.py declares it. Two ops also recover from an answer
        that hides success (a retried call that had landed)."""
        call = CALLS[Op(step.op)]
        result.writes += 1
        if step.op == Op.KEY_CREATE:
            self._key_create(call, step.args, result)
        elif step.op == Op.MEMBER_ADD:
            self._member_add(call, step.args)
        else:
            self.client.post(call.path_for(step.args), call.body(step.args))
            if step.op == Op.KEY_DELETE:
                result.key_hashes_deleted += step.args["keys"]

    def _key_create(self, call: Call, args: dict, result: ActionResult) -> None:
        raw = new_key()
        token = key_hash(raw)
        # The secret exists before the key does: no live key is ever missing from the store.
        self.store.put(args["user_id"], raw, key_alias=args["key_alias"], commit=self.commit,
                       retiring_hash=args.get(RETIRING_HASH_ARG))
        try:
            self.client.post(call.path_for(args), {**call.body(args), "key": raw})
        except GatewayError:
            found = self.client.get("/key/list", key_alias=args["key_alias"], return_full_object="true")
            if not any(k.get("token") == token for k in found.get("keys") or []):
                raise
        result.key_hashes_created.append(token)

    def _member_add(self, call: Call, args: dict) -> None:
        try:
            self.client.post(call.path_for(args), call.body(args))
        except GatewayError as exc:
            if exc.status != 400 or "already" not in exc.detail.lower():
                raise
            # "already a member" may answer a retried call whose first attempt was rolled back: check.
            info = self.client.get("/user/info", user_id=args["user_id"])
            if args["team_id"] not in ((info.get("user_info") or {}).get("teams") or []):
                raise GatewayError("POST", call.path_for(args), 409,
                                   f"LiteLLM says {args['user_id']} is already in {args['team_id']}, "
                                   "but /user/info disagrees") from None

    def run_steps(self, steps: list[Step], result: ActionResult) -> None:
        """Run steps in order until one fails; the failure is recorded in `result`."""
        if result.status != "ok":
            return
        try:
            for step in steps:
                self.run_step(step, result)
        except (GatewayctlError, OSError) as exc:
            result.status, result.error = "failed", redact(str(exc))
        except Exception as exc:  # noqa: BLE001 - boto errors etc.: report, keep the others going
            result.status, result.error = "failed", redact(f"{type(exc).__name__}: {exc}")

    def finish(self, action: Action, result: ActionResult, n: int, total: int) -> ActionResult:
        self._record(asdict(result))
        mark = "ok" if result.status == "ok" else f"FAILED: {result.error}"
        self._say(f"[{n}/{total}] {action.kind} {action.target} ... {mark}")
        return result

    def run_action(self, action: Action, n: int, total: int) -> ActionResult:
        result = ActionResult(action.kind, action.target, "ok")
        self.run_steps(action.steps, result)
        return self.finish(action, result, n, total)

    def execute(self, plan: Plan, concurrency: int = DEFAULT_CONCURRENCY,
                member_batch: int = membership_batch.DEFAULT_BATCH) -> list[ActionResult]:
        """Tier changes first, then users in three phases: each user's steps up to joining its tier
        (in parallel), the tier memberships in batches (one call per `member_batch` users per tier,
        one call in flight per tier), then the rest of each user's steps (in parallel)."""
        total = len(plan.actions)
        self._record({"started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "actor": actor(),
                      "gatewayctl_version": __version__,
                      "git_commit": plan.git_commit, "plan_digest": plan_digest(plan), "actions": total})
        tiers = [a for a in plan.actions if a.kind.endswith("-tier")]
        users = [a for a in plan.actions if not a.kind.endswith("-tier")]
        results = [self.run_action(a, i + 1, total) for i, a in enumerate(tiers)]
        if any(r.status != "ok" for r in results):
            self._say("tier changes failed; user changes not attempted")
            return results
        user_results = [ActionResult(a.kind, a.target, "ok") for a in users]
        split = [next((i for i, s in enumerate(a.steps) if s.op == Op.MEMBER_ADD), None) for a in users]
        if member_batch <= 1:
            split = [None] * len(users)
        workers = max(1, concurrency)
        clock = time.monotonic()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda i: self.run_steps(users[i].steps[:split[i]], user_results[i]),
                          [i for i in range(len(users)) if split[i] is not None]))
            self.phase_s["before_membership"] = round(time.monotonic() - clock, 3)
            clock = time.monotonic()
            self._add_memberships(users, split, user_results, workers, member_batch)
            self.phase_s["memberships"] = round(time.monotonic() - clock, 3)
            clock = time.monotonic()
            futures = [pool.submit(self._finish_user, users[i], split[i], user_results[i], len(tiers) + i + 1, total)
                       for i in range(len(users))]
            results += [f.result() for f in futures]
            self.phase_s["after_membership"] = round(time.monotonic() - clock, 3)
        return results

    def _finish_user(self, action: Action, split: int | None, result: ActionResult, n: int,
                     total: int) -> ActionResult:
        self.run_steps(action.steps if split is None else action.steps[split + 1:], result)
        return self.finish(action, result, n, total)

    def _add_memberships(self, users: list[Action], split: list[int | None], results: list[ActionResult],
                         workers: int, member_batch: int) -> None:
        by_team: dict[str, list[int]] = {}
        for i, at in enumerate(split):
            if at is not None and results[i].status == "ok":
                by_team.setdefault(users[i].steps[at].args["team_id"], []).append(i)

        def one_team(team_id: str) -> None:
            idx = by_team[team_id]
            done = [0]

            def progress(n: int) -> None:
                done[0] += n
                self._say(f"members of {team_id}: {done[0]}/{len(idx)}")

            outcome = membership_batch.add_members(
                self.client, team_id, [users[i].steps[split[i]].args["user_id"] for i in idx],
                batch=member_batch, progress=progress)
            failed = 0
            for i in idx:
                results[i].writes += 1
                error = outcome.get(users[i].steps[split[i]].args["user_id"], "not attempted")
                if error:
                    results[i].status, results[i].error = "failed", error
                    failed += 1
            self._record({"member_add_batch": team_id, "users": len(idx), "failed": failed})

        # One call in flight per tier: each call holds one of the proxy's pooled connections
        # for its transaction and rewrites the tier's row, so calls on one tier would only queue.
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(by_team)))) as pool:
            list(pool.map(one_team, sorted(by_team)))


def actor() -> str:
    return os.environ.get("GITHUB_ACTOR") or os.environ.get("USER") or getpass.getuser()


def read_journal(path: Path) -> list[dict]:
    """Entries an interrupted apply left behind (empty when the last apply finished)."""
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            entries.append({"unreadable": line[:200]})  # a line cut short by the kill
    return entries


def append_jsonl(path: Path, record: dict) -> None:
    """Append one JSON line, fsynced: the record survives the process."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True, default=str) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def audit_record(plan: Plan, results: list[ActionResult], *, live_digest_before: str, started: float) -> dict:
    return {
        "ts": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "gatewayctl_version": __version__,
        "git_commit": plan.git_commit,
        "actor": actor(),
        "run_id": os.environ.get("GITHUB_RUN_ID"),
        "plan_digest": plan_digest(plan),
        "desired_digest": plan.desired_digest,
        "live_digest_before": live_digest_before,
        "dry_run": False,  # a dry run (apply without --confirm) writes no record
        "duration_s": round(time.monotonic() - started, 3),
        "status": "ok" if all(r.status == "ok" for r in results) else "failed",
        "actions": [
            {"kind": r.kind, "target": r.target, "result": r.status, "error": r.error,
             "key_hashes_created": r.key_hashes_created, "key_hashes_deleted": r.key_hashes_deleted}
            for r in results
        ],
    }


def plan_digest(plan: Plan) -> str:
    return json_digest(plan.to_json()["actions"])
