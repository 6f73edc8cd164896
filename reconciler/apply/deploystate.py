"""What the deploy and the nightly rotation share, kept in the reconciler's DynamoDB table
(terraform/modules/github-oidc-reconciler, `state_table_name`), which only the reconciler role may write:

- the gateway lock (item `lock`): one writer at a time across runners. deploy.yml and rotate.yml sit in
  separate concurrency groups, so GitHub never cancels one's pending run for the other's; this lock is
  what keeps them from writing keys at the same time. Taken by a conditional write: free, or its lease
  ran out (the holder crashed). The lease outlasts any job that takes it (LEASE_SECONDS, checked against
  the workflows' timeout-minutes), so a live holder is never overtaken.
- the converged commit (item `converged`): written at the end of an apply that changed everything it
  planned, read by the next deploy's `--changed-since` (scripts/ci/last-deployed). GitHub's run list is
  not asked: a run marked successful whose reconcile job never ran would move that baseline past an
  offboarding.

    gatewayctl lock [--wait-lock SECONDS] -- COMMAND [ARG...]   run COMMAND holding the lock
    gatewayctl converged                                       print the recorded commit (exit 1: none)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

from reconciler.errors import EXIT_ERROR, EXIT_OK, GatewayctlError, UsageError

TABLE_ENV = "GATEWAYCTL_STATE_TABLE"
LOCK_HELD_ENV = "GATEWAYCTL_LOCK_HELD"  # set for the command `gatewayctl lock` runs: it holds the lock already
LOCK_ITEM = "lock"
CONVERGED_ITEM = "converged"
# Longer than the longest job that takes the lock (deploy.yml's reconcile: timeout-minutes 30). GitHub ends
# a job at its timeout, so a lock older than this has no live holder.
LEASE_SECONDS = 45 * 60
POLL_SECONDS = 5.0


class LockBusy(GatewayctlError):
    """Another deploy or rotation holds the gateway lock."""


class StateTable:
    """The reconciler's DynamoDB table, through boto's standard environment (AWS_REGION, AWS_ENDPOINT_URL,
    credentials)."""

    def __init__(self, table: str, *, clock=time.time):
        if not table:
            raise UsageError(f"no state table: pass --state-table or set {TABLE_ENV} "
                             "(terraform output github_actions_secrets)")
        from botocore.config import Config

        from reconciler.live.keystore import _aws_session

        self.table, self.clock = table, clock
        self._db = _aws_session().create_client("dynamodb", config=Config(
            retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5, read_timeout=20))

    def _call(self, what: str, op: str, **kw):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self._db, op)(TableName=self.table, **kw)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise
            raise GatewayctlError(f"cannot {what} in DynamoDB table {self.table}: {exc}") from exc
        except BotoCoreError as exc:
            raise GatewayctlError(f"cannot {what} in DynamoDB table {self.table}: {exc}") from exc

    def _get(self, item: str) -> dict[str, str]:
        found = self._call(f"read {item}", "get_item", Key={"id": {"S": item}}, ConsistentRead=True).get("Item")
        return {k: next(iter(v.values())) for k, v in (found or {}).items()}

    # ------------------------------------------------------------------ the lock
    def try_acquire(self, token: str, holder: str, lease_seconds: float = LEASE_SECONDS) -> bool:
        from botocore.exceptions import ClientError

        now = self.clock()
        try:
            self._call("take the lock", "put_item",
                       Item={"id": {"S": LOCK_ITEM}, "token": {"S": token}, "holder": {"S": holder},
                             "acquired_at": {"N": str(int(now))}, "expires_at": {"N": str(int(now + lease_seconds))}},
                       ConditionExpression="attribute_not_exists(id) OR expires_at < :now",
                       ExpressionAttributeValues={":now": {"N": str(int(now))}})
            return True
        except ClientError:
            return False

    def release(self, token: str) -> bool:
        """Free the lock if `token` still holds it; False when it had been overtaken (its lease ran out)."""
        from botocore.exceptions import ClientError

        try:
            self._call("release the lock", "delete_item", Key={"id": {"S": LOCK_ITEM}},
                       ConditionExpression="#t = :token", ExpressionAttributeNames={"#t": "token"},
                       ExpressionAttributeValues={":token": {"S": token}})
            return True
        except ClientError:
            return False

    def holder(self) -> dict[str, str]:
        return self._get(LOCK_ITEM)

    def holds(self, token: str) -> bool:
        item = self.holder()
        return bool(item) and item.get("token") == token and float(item.get("expires_at", 0)) >= self.clock()

    @contextlib.contextmanager
    def lock(self, holder: str, wait_seconds: float = 0.0, *, lease_seconds: float = LEASE_SECONDS) -> Iterator[str]:
        """Hold the gateway lock; yields its token. Re-entrant for the command `gatewayctl lock` runs."""
        inherited = os.environ.get(LOCK_HELD_ENV)
        if inherited:
            if not self.holds(inherited):
                raise LockBusy(f"{LOCK_HELD_ENV} is set but that token does not hold the lock in {self.table}")
            yield inherited
            return
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait_seconds
        while not self.try_acquire(token, holder, lease_seconds):
            if time.monotonic() >= deadline:
                item = self.holder()
                raise LockBusy(f"the gateway lock in {self.table} is held by {item.get('holder', '?')} since "
                               f"{_utc(item.get('acquired_at'))} (lease until {_utc(item.get('expires_at'))}); "
                               "another deploy or rotation is writing, try again after it")
            time.sleep(min(POLL_SECONDS, max(0.2, wait_seconds / 20)))
        try:
            yield token
        finally:
            if not self.release(token):
                print(f"warning: the gateway lock in {self.table} was no longer ours at the end "
                      "(its lease ran out)", file=sys.stderr)

    # ------------------------------------------------------------------ the converged commit
    def converged(self) -> str | None:
        return self._get(CONVERGED_ITEM).get("commit") or None

    def record_converged(self, commit: str, run: str) -> None:
        self._call("record the converged commit", "put_item",
                   Item={"id": {"S": CONVERGED_ITEM}, "commit": {"S": commit}, "run": {"S": run},
                         "recorded_at": {"N": str(int(self.clock()))}})


def _utc(epoch: str | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(epoch))) if epoch else "?"


def holder_name() -> str:
    """Who holds the lock, for the message another run sees: the GitHub run, else this host and process."""
    if os.environ.get("GITHUB_RUN_ID"):
        return (f"{os.environ.get('GITHUB_WORKFLOW', 'workflow')} run {os.environ['GITHUB_RUN_ID']}"
                f" attempt {os.environ.get('GITHUB_RUN_ATTEMPT', '1')}")
    return f"{socket.gethostname()} pid {os.getpid()}"


def table_from(args) -> StateTable | None:
    """The state table for apply/rotate, or None when none is configured (a local or demo gateway)."""
    name = getattr(args, "state_table", None)
    return StateTable(name) if name else None


def state_table_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state-table", default=os.environ.get(TABLE_ENV) or None, metavar="TABLE",
                   help=f"the reconciler's DynamoDB table: take the gateway lock there while writing, shared by "
                        f"deploys and rotations (default: ${TABLE_ENV}; unset: no shared lock)")


def lock_arguments(p: argparse.ArgumentParser) -> None:
    state_table_argument(p)
    p.add_argument("--wait-lock", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another deploy or rotation to finish instead of refusing (default 0)")
    p.add_argument("run", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="the command to run under the lock")


def cmd_lock(args) -> int:
    command = args.run[1:] if args.run[:1] == ["--"] else args.run
    if not command:
        raise UsageError("usage: gatewayctl lock [--wait-lock SECONDS] -- COMMAND [ARG...]")
    if not args.state_table:
        raise UsageError(f"no state table: pass --state-table or set {TABLE_ENV}")
    with StateTable(args.state_table).lock(holder_name(), args.wait_lock) as token:
        child = subprocess.Popen(command, env={**os.environ, LOCK_HELD_ENV: token})
        # A cancelled job gets SIGINT/SIGTERM: pass it on, then release the lock as the child ends.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, _frame: child.send_signal(signum))
        return child.wait()


def converged_arguments(p: argparse.ArgumentParser) -> None:
    state_table_argument(p)


def cmd_converged(args) -> int:
    if not args.state_table:
        raise UsageError(f"no state table: pass --state-table or set {TABLE_ENV}")
    commit = StateTable(args.state_table).converged()
    if not commit:
        print(f"no converged commit recorded in {args.state_table} yet", file=sys.stderr)
        return EXIT_ERROR
    print(commit)
    return EXIT_OK
