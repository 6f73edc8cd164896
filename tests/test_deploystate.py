"""The gateway lock and the converged commit (reconciler/apply/deploystate.py) on DynamoDB as moto's server
speaks it: one holder at a time among racing processes, a crashed holder's lock taken over only once its
lease ran out, and the lease longer than any job that takes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers import create_state_table, run_gatewayctl_in_process

from reconciler.apply import deploystate
from reconciler.apply.deploystate import LEASE_SECONDS, LockBusy, StateTable

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def table(aws_env: dict[str, str]) -> str:
    return create_state_table()


def gatewayctl(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "reconciler", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_second_holder_is_refused_until_the_first_releases(table: str):
    first, second = StateTable(table), StateTable(table)
    with first.lock("deploy run 1") as token:
        assert first.holds(token)
        with pytest.raises(LockBusy, match="held by deploy run 1 since"), second.lock("rotate run 2"):
            pass
    assert first.holder() == {}
    with second.lock("rotate run 2") as token:
        assert second.holder()["holder"] == "rotate run 2" and not first.holds("not-" + token)


@pytest.mark.process
def test_racing_holders_never_overlap(table: str, tmp_path: Path):
    """Three processes, each `gatewayctl lock -- <record start, sleep, record end>`, all started at once: two
    of them must wait, which is what mutual exclusion needs (more racers add subprocesses, not proof)."""
    trace = tmp_path / "trace"
    body = ("import sys,time; f=open(sys.argv[1],'a'); f.write(f'start {time.time()}\\n'); f.flush(); "
            "time.sleep(0.4); f.write(f'end {time.time()}\\n'); f.close()")
    procs = [gatewayctl("lock", "--state-table", table, "--wait-lock", "60", "--", sys.executable, "-c", body,
                        str(trace)) for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    events = [line.split() for line in trace.read_text().splitlines()]
    assert [e[0] for e in events] == ["start", "end"] * 3, events  # strictly one after the other
    assert StateTable(table).holder() == {}


@pytest.mark.process
def test_a_crashed_holders_lock_is_taken_over_only_after_its_lease(table: str, tmp_path: Path):
    started = tmp_path / "started"
    holder = gatewayctl("lock", "--state-table", table, "--", sys.executable, "-c",
                        f"import pathlib,time; pathlib.Path({str(started)!r}).touch(); time.sleep(120)",
                        start_new_session=True)
    deadline = time.monotonic() + 60
    while not started.exists():
        assert holder.poll() is None and time.monotonic() < deadline, holder.communicate()
        time.sleep(0.1)
    os.killpg(holder.pid, signal.SIGKILL)  # the runner died: nobody releases
    holder.wait(10)
    stale = StateTable(table).holder()
    assert stale["token"] and int(stale["expires_at"]) - int(stale["acquired_at"]) == LEASE_SECONDS

    refused = gatewayctl("lock", "--state-table", table, "--", "true")
    _, err = refused.communicate(timeout=60)
    assert refused.returncode == 1 and "held by" in err and "lease until" in err
    assert StateTable(table).holder()["token"] == stale["token"]

    later = StateTable(table, clock=lambda: time.time() + LEASE_SECONDS + 1)
    with later.lock("deploy run 3") as token:
        assert token != stale["token"] and later.holder()["holder"] == "deploy run 3"
        # The crashed holder's token can no longer free the lock it lost.
        assert not later.release(stale["token"]) and later.holds(token)


@pytest.mark.process
def test_a_released_signal_frees_the_lock(table: str, tmp_path: Path):
    """A cancelled job: SIGTERM reaches the command, and the lock is released as it ends."""
    started = tmp_path / "started"
    holder = gatewayctl("lock", "--state-table", table, "--", sys.executable, "-c",
                        f"import pathlib,time; pathlib.Path({str(started)!r}).touch(); time.sleep(120)")
    deadline = time.monotonic() + 60
    while not started.exists():
        assert holder.poll() is None and time.monotonic() < deadline, holder.communicate()
        time.sleep(0.1)
    holder.send_signal(signal.SIGTERM)
    holder.communicate(timeout=30)
    assert holder.returncode != 0 and StateTable(table).holder() == {}


def test_the_command_under_the_lock_holds_it_and_others_do_not(table: str, monkeypatch: pytest.MonkeyPatch):
    state = StateTable(table)
    with state.lock("deploy run 4") as token:
        monkeypatch.setenv(deploystate.LOCK_HELD_ENV, token)
        with state.lock("gatewayctl apply inside") as inner:  # re-entrant: not taken twice, not released
            assert inner == token
        assert state.holds(token)
        monkeypatch.setenv(deploystate.LOCK_HELD_ENV, "someone-else")
        with pytest.raises(LockBusy, match="does not hold the lock"), state.lock("forged"):
            pass
    monkeypatch.delenv(deploystate.LOCK_HELD_ENV)
    assert state.holder() == {}


def test_converged_commit_round_trip(table: str):
    """`gatewayctl converged` in process: its exit code is main()'s (scripts/ci/last-deployed, below, reads
    it across the process boundary)."""
    state = StateTable(table)
    assert state.converged() is None
    proc = run_gatewayctl_in_process(("converged", "--state-table", table), ROOT, dict(os.environ))
    assert proc.returncode == 1 and "no converged commit" in proc.stderr
    state.record_converged("a" * 40, "deploy run 5")
    proc = run_gatewayctl_in_process(("converged", "--state-table", table), ROOT, dict(os.environ))
    assert proc.returncode == 0 and proc.stdout.strip() == "a" * 40


def test_lease_outlasts_every_job_that_takes_the_lock():
    """GitHub ends a job at its timeout-minutes: a lock older than the lease has no live holder."""
    takers = []
    for path in (ROOT / ".github" / "workflows").glob("*.yml"):
        for job_id, job in (yaml.safe_load(path.read_text()).get("jobs") or {}).items():
            runs = " ".join(str(s.get("run", "")) for s in job.get("steps") or [])
            if "scripts/ci/reconcile" in runs or "scripts/ci/rotate" in runs:
                takers.append((f"{path.name}:{job_id}", job["timeout-minutes"]))
    assert {t for t, _ in takers} >= {"deploy.yml:reconcile", "rotate.yml:rotate"}, takers
    assert all(minutes * 60 < LEASE_SECONDS for _, minutes in takers), takers


@pytest.mark.process
def test_last_deployed_reads_the_record_not_githubs_run_list(table: str, tmp_path: Path):
    """scripts/ci/last-deployed, as the deploy job runs it, while GitHub lists a newer "successful" run
    whose reconcile job never ran (its commit an offboarding): the baseline is the reconciler's record."""
    sys.path.insert(0, str(ROOT / "tests" / "rehearsal"))
    from github_emulator import GitHubEmulator

    github = GitHubEmulator()
    try:
        github.deploy_run("b" * 40, "success")
        env = {**os.environ, "GITHUB_API_URL": github.url, "GITHUB_TOKEN": "ghs_test",
               "GITHUB_REPOSITORY": "example-org/llm-gateway-gitops", "GATEWAYCTL_STATE_TABLE": table,
               "GATEWAYCTL": str(Path(sys.executable).with_name("gatewayctl"))}

        def last_deployed() -> subprocess.CompletedProcess:
            return subprocess.run([str(ROOT / "scripts" / "ci" / "last-deployed")], env=env, capture_output=True,
                                  text=True, timeout=60, check=False)

        none = last_deployed()
        assert none.returncode == 1 and none.stdout == "", none.stdout  # nothing recorded: the deploy plans in full
        StateTable(table).record_converged("a" * 40, "deploy run 1")
        found = last_deployed()
        assert found.returncode == 0 and found.stdout.strip() == "a" * 40, found.stdout + found.stderr
    finally:
        github.close()


@pytest.mark.integration
def test_apply_takes_the_lock_and_records_the_commit_it_converged_to(gatewayctl, workspace, admin, table: str):
    """gatewayctl apply on the genuine proxy: refused while a rotation holds the lock, then it records
    the commit (GITHUB_SHA, as on a runner) once every action succeeded; a dry run records nothing."""
    from helpers import reset_gateway, reset_secrets, write_user

    reset_gateway(admin)
    reset_secrets()
    write_user(workspace, "lockie", "coding")
    state = StateTable(table)
    with state.lock("rotate run 8"):
        busy = gatewayctl("apply", "--confirm", "--record-converged", "--state-table", table)
    assert busy.returncode == 1 and "held by rotate run 8" in busy.stderr, busy.stderr
    gatewayctl("apply", "--record-converged", "--state-table", table, check=True)  # dry run
    assert state.converged() is None
    gatewayctl("apply", "--confirm", "--record-converged", "--state-table", table, check=True,
               env={"GITHUB_SHA": "c" * 40})
    assert state.converged() == "c" * 40 and state.holder() == {}
    refused = gatewayctl("apply", "--confirm", "--record-converged")  # no table: no silent skip
    assert refused.returncode == 1 and "--record-converged needs the state table" in refused.stderr
