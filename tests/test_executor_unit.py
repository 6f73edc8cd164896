"""The executor (reconciler/apply/executor.py) and `gatewayctl apply` against the fake admin API: no proxy.

Each test plans from the repository's users/ and policies/ (a workspace copy), applies with the real
Executor and key store (0600 files), and reads the result back through reconciler.live.state, so what is
checked is what the next run would see. Faults come from tests/fakelitellm.py; the same behaviour
on the genuine proxy, under a fault proxy and SIGKILL, is tests/test_faults.py."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from fakelitellm import FakeLiteLLM
from helpers import generate_users

import reconciler
from reconciler import cli, runctx
from reconciler.apply.executor import Executor, read_journal
from reconciler.desired.validate import load_desired
from reconciler.live.client import RequestPolicy
from reconciler.live.keystore import FileStore
from reconciler.live.state import read_live
from reconciler.plan import PlanContext, build_plan

TODAY = dt.date(2026, 11, 26)


def plan_now(fake: FakeLiteLLM, root: Path, store: FileStore):
    with fake.client() as client:
        live = read_live(client, store)
    return build_plan(load_desired(root, today=TODAY), live, PlanContext(today=TODAY, commit="c1"))


def apply_once(fake: FakeLiteLLM, root: Path, store: FileStore, *, member_batch: int = 100,
               journal: Path | None = None):
    plan = plan_now(fake, root, store)
    with fake.client(RequestPolicy(retries=3)) as client:
        executor = Executor(client, store, commit="c1", journal=journal, out=io.StringIO())
        return plan, executor.execute(plan, concurrency=2, member_batch=member_batch)


def status(results) -> dict[str, str]:
    return {r.target: r.status for r in results}


def assert_converged(fake: FakeLiteLLM, root: Path, store: FileStore) -> None:
    plan = plan_now(fake, root, store)
    assert plan.actions == [] and not plan.has_changes, [(a.kind, a.target, a.changes) for a in plan.actions]
    held = store.inventory()
    live = {k["user_id"]: k["token"] for k in fake.keys.values()}
    assert held == live  # every key's raw value is in the store, and nothing else is


def test_apply_then_plan_finds_nothing_to_do(fake, workspace, store):
    plan, results = apply_once(fake, workspace, store)
    assert {a.kind for a in plan.actions} == {"create-tier", "create"}
    assert set(status(results).values()) == {"ok"}
    assert_converged(fake, workspace, store)
    assert fake.users["alice"]["metadata"]["cost_center"] == "CC-1001"
    assert fake.teams["tier-drafting"]["members_with_roles"] == [{"user_id": "default_user_id", "role": "admin"},
                                                                 {"user_id": "alice", "role": "user"}]


def test_a_failing_user_does_not_stop_the_others_and_the_next_run_finishes(fake, workspace, store):
    fake.fail("POST", "/key/generate", status=500, times=99, when=lambda body: body.get("user_id") == "bob")
    _, results = apply_once(fake, workspace, store)
    assert status(results) == {"tier:drafting": "ok", "tier:coding": "ok", "tier:architect": "ok",
                               "user:alice": "ok", "user:bob": "failed", "user:carol": "ok"}
    bob = next(r for r in results if r.target == "user:bob")
    assert "POST /key/generate: 500" in bob.error
    fake.faults.clear()
    plan, results = apply_once(fake, workspace, store)
    assert [a.target for a in plan.actions] == ["user:bob"] and status(results) == {"user:bob": "ok"}
    assert_converged(fake, workspace, store)


def test_a_key_made_behind_a_lost_answer_is_recognised_not_made_twice(fake, workspace, store):
    """LiteLLM committed the key, the answer was a 502; the retry is refused (the alias exists): the
    executor finds the key it minted by its hash, and the secret already holds it."""
    fake.fail("POST", "/key/generate", status=502, after_commit=True, when=lambda b: b.get("user_id") == "carol")
    _, results = apply_once(fake, workspace, store)
    assert set(status(results).values()) == {"ok"}
    assert len(fake.calls("POST", "/key/generate")) == 4  # 3 users, carol's twice
    assert [k["user_id"] for k in fake.keys.values()].count("carol") == 1
    assert_converged(fake, workspace, store)


def test_a_key_that_really_failed_is_not_counted_as_made(fake, workspace, store):
    fake.fail("POST", "/key/generate", status=400, message="some validation error",
              when=lambda b: b.get("user_id") == "carol")
    _, results = apply_once(fake, workspace, store)
    assert status(results)["user:carol"] == "failed"
    assert not any(k["user_id"] == "carol" for k in fake.keys.values())
    # The secret was written first; it names a key LiteLLM does not have, so the next plan rotates it.
    (action,) = plan_now(fake, workspace, store).actions
    assert action.target == "user:carol" and action.steps[-1].op == "key_create"


def test_already_in_team_after_a_lost_answer_is_checked_and_accepted(fake, workspace, store):
    fake.fail("POST", "/team/member_add", status=502, after_commit=True)
    _, results = apply_once(fake, workspace, store, member_batch=1)
    assert set(status(results).values()) == {"ok"}
    member_adds = fake.calls("POST", "/team/member_add")
    # The first one is retried; another tier's add may come in between (one thread per tier).
    assert len(member_adds) == 4 and member_adds.count(member_adds[0]) == 2
    assert len(fake.calls("GET", "/user/info")) == 1  # the "already in team" answer was checked
    assert_converged(fake, workspace, store)


def test_already_in_team_that_user_info_contradicts_fails_the_user(fake, workspace, store):
    fake.fail("POST", "/team/member_add", status=400, message="User already in team. Member: user_id=alice",
              when=lambda b: b["member"]["user_id"] == "alice")
    _, results = apply_once(fake, workspace, store, member_batch=1)
    alice = next(r for r in results if r.target == "user:alice")
    assert alice.status == "failed" and "409" in alice.error and "/user/info disagrees" in alice.error
    assert {r.status for r in results if r.target != "user:alice"} == {"ok"}


def test_a_membership_batch_that_keeps_failing_is_halved(fake, workspace, store):
    generate_users(workspace, 12, tiers=("drafting",))
    fake.fail("POST", "/team/member_add", status=503, times=2, when=lambda b: len(b["member"]) > 6)
    _, results = apply_once(fake, workspace, store)
    assert set(status(results).values()) == {"ok"}
    sizes = [len(body["member"]) for _, _, body in fake.calls("POST", "/team/member_add")]
    assert sizes == [12, 12, 6, 6]  # the batch, its one retry, then two halves
    assert [m["role"] for m in fake.teams["tier-drafting"]["members_with_roles"]].count("user") == 12
    assert_converged(fake, workspace, store)


def test_a_batch_litellm_answers_with_its_updated_users_is_not_read_back(fake, workspace, store):
    """LiteLLM's 200 to /team/member_add lists the users whose rows got the team in the transaction
    it committed: that answer is the proof, so the apply reads no user rows back."""
    generate_users(workspace, 3, tiers=("drafting",))
    plan = plan_now(fake, workspace, store)
    listed = len(fake.calls("GET", "/user/list"))
    with fake.client() as client:
        results = Executor(client, store, commit="c1", out=io.StringIO()).execute(plan, member_batch=100)
    assert set(status(results).values()) == {"ok"}
    assert len(fake.calls("POST", "/team/member_add")) == 1  # the 3 users, one batch
    assert len(fake.calls("GET", "/user/list")) == listed
    assert_converged(fake, workspace, store)


def test_a_batch_answered_but_not_applied_fails_those_users(fake, workspace, store):
    """Under load LiteLLM has answered "All users are already in team" while the users' rows lacked the
    team: the read-back decides, not the answer."""
    generate_users(workspace, 3, tiers=("drafting",))
    fake.fail("POST", "/team/member_add", status=400, message="All users are already in team. Existing members=[]")
    _, results = apply_once(fake, workspace, store)
    assert {r.target: r.status for r in results if r.target.startswith("user:")} == {
        "user:user00000": "failed", "user:user00001": "failed", "user:user00002": "failed"}
    assert all("does not list tier-drafting" in r.error for r in results if r.status == "failed")
    fake.faults.clear()
    apply_once(fake, workspace, store)
    assert_converged(fake, workspace, store)


def test_the_journal_records_each_finished_action_at_once(fake, workspace, store, tmp_path):
    journal = tmp_path / "journal.jsonl"
    fake.fail("POST", "/key/generate", status=500, times=99, when=lambda b: b.get("user_id") == "bob")
    plan, _ = apply_once(fake, workspace, store, journal=journal)
    entries = read_journal(journal)
    assert entries[0]["actions"] == len(plan.actions) and entries[0]["plan_digest"].startswith("sha256:")
    done = {e["target"]: e["status"] for e in entries if "target" in e}
    assert done == {a.target: ("failed" if a.target == "user:bob" else "ok") for a in plan.actions}
    assert {e["member_add_batch"] for e in entries if "member_add_batch" in e} == {
        "tier-drafting", "tier-coding", "tier-architect"}


def test_a_journal_line_cut_short_by_a_kill_is_kept_as_unreadable(tmp_path):
    journal = tmp_path / "journal.jsonl"
    journal.write_text('{"started": "x"}\n{"kind": "create", "tar')
    assert read_journal(journal) == [{"started": "x"}, {"unreadable": '{"kind": "create", "tar'}]


@pytest.fixture
def gatewayctl_on_fake(fake, workspace, monkeypatch, capsys):
    """`gatewayctl apply` in-process, its client talking to the fake, keys in 0600 files."""
    monkeypatch.setattr(runctx.RunContext, "connect", lambda ctx: fake.client(RequestPolicy(retries=ctx.args.retries)))

    def run(*args: str) -> tuple[int, str]:
        rc = cli.main([*args, "--root", str(workspace), "--key-store", "file", "--today", TODAY.isoformat()])
        return rc, capsys.readouterr().err

    return run


def test_an_interrupted_apply_leaves_its_journal_for_the_next_audit_record(fake, workspace, gatewayctl_on_fake):
    fake.fail("POST", "/key/generate", error=KeyboardInterrupt, when=lambda b: b.get("user_id") == "carol")
    rc, err = gatewayctl_on_fake("apply", "--confirm", "--concurrency", "1")
    assert rc == 130 and "interrupted" in err
    journal = workspace / ".gatewayctl" / "apply-journal.jsonl"
    assert journal.is_file() and not (workspace / "gatewayctl-audit.jsonl").exists()
    left = read_journal(journal)
    rc, err = gatewayctl_on_fake("apply", "--confirm")
    assert rc == 0 and "the previous apply was interrupted" in err
    (record,) = [json.loads(line) for line in (workspace / "gatewayctl-audit.jsonl").read_text().splitlines()]
    assert record["interrupted_run"] == left and record["status"] == "ok"
    assert record["gatewayctl_version"] == left[0]["gatewayctl_version"] == reconciler.__version__
    assert [a["target"] for a in record["actions"]] == ["user:carol"]
    assert not journal.exists()


def test_apply_with_a_failed_user_exits_1_and_says_to_re_run(fake, gatewayctl_on_fake):
    fake.fail("POST", "/user/new", status=500, times=99, when=lambda b: b.get("user_id") == "alice")
    rc, err = gatewayctl_on_fake("apply", "--confirm", "--retries", "1")
    assert rc == 1 and "[" in err and "create user:alice ... FAILED: POST /user/new: 500" in err
    assert "5 ok, 1 failed" in err and "re-run `gatewayctl apply --confirm` to converge" in err


def test_an_unreachable_gateway_is_an_error_message_not_a_traceback(fake, gatewayctl_on_fake):
    import httpx

    fake.fail("GET", "/budget/list", error=httpx.ConnectError, times=99)
    rc, err = gatewayctl_on_fake("plan", "--retries", "1")
    assert rc == 1 and err.startswith("error: GET /budget/list: no response: cannot connect") and "Traceback" not in err


def test_notices_see_the_keys_an_apply_made_without_reading_them_back_except_where_it_failed(fake, workspace, store):
    """reconciler/notifications/notices.py state_after(): the state after an apply is the plan's live state changed by
    the apply's results; only the users of a failed action are read from the gateway again."""
    from reconciler.notifications import notices

    generate_users(workspace, 2, tiers=("drafting",))
    fake.fail("POST", "/key/generate", status=500, times=99, when=lambda b: b.get("user_id") == "user00001")
    with fake.client() as client:
        live = read_live(client, store)
    plan = build_plan(load_desired(workspace, today=TODAY), live, PlanContext(today=TODAY, commit="c1"))
    with fake.client(RequestPolicy(retries=0)) as client:
        results = Executor(client, store, commit="c1", out=io.StringIO()).execute(plan)
    assert status(results)["user:user00001"] == "failed" and status(results)["user:user00000"] == "ok"
    before = len(fake.requests)
    with fake.client() as client:
        after = notices.state_after(client, store, {"user00000", "user00001"}, live, plan, results)
    reads = [(m, p, q) for m, p, q in fake.requests[before:]]
    assert {p for _, p, _ in reads} == {"/user/list", "/key/list"}  # the failed user's row and keys only
    assert all("user00000" not in json.dumps(q) for _, _, q in reads)
    made = next(r for r in results if r.target == "user:user00000").key_hashes_created
    assert [k.token for k in after.managed_keys("user00000")] == made == [
        k["token"] for k in fake.keys.values() if k["user_id"] == "user00000"]
    assert after.secrets["user00000"] == made[0]
