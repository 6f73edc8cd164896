"""tests/clock_shift, the test-only clock of the clock-shifted proxy: LiteLLM's budget checks and its
monthly reset job read two files, so one proxy serves a test that moves only the budget checks (a budget
exception expiring days ahead, while the reset job must not reset the month) and one that moves both
(the reset on the 1st)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
import types
from pathlib import Path

import pytest

SITECUSTOMIZE = Path(__file__).resolve().parent / "clock_shift" / "sitecustomize.py"
DAY = 86400


def load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[types.ModuleType, Path, Path]:
    clock, reset_job_clock = tmp_path / "clock", tmp_path / "reset-job-clock"
    monkeypatch.setenv("GATEWAY_TEST_CLOCK_FILE", str(clock))
    monkeypatch.setenv("GATEWAY_TEST_RESET_JOB_CLOCK_FILE", str(reset_job_clock))
    spec = importlib.util.spec_from_file_location("clock_shift_under_test", SITECUSTOMIZE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    finders = [f for f in sys.meta_path if type(f).__name__ == "_ShiftLiteLLMClock"]
    for finder in finders:  # only the proxy's process is patched, never this one
        sys.meta_path.remove(finder)
    assert finders, "the clock file installs the import hook"
    return module, clock, reset_job_clock


def shifted_days(now: dt.datetime) -> int:
    return round((now - dt.datetime.now(dt.UTC)).total_seconds() / DAY)


def test_the_budget_checks_move_without_the_reset_job(monkeypatch, tmp_path):
    module, clock, reset_job_clock = load(monkeypatch, tmp_path)
    utils = types.SimpleNamespace(get_utc_datetime=lambda: dt.datetime.now(dt.UTC))
    module._shift_get_utc_datetime(utils)
    job = types.SimpleNamespace(datetime=dt.datetime)
    module._shift_datetime(job)

    clock.write_text(str(8 * DAY))  # what test_budget_guard_e2e's expiry test does
    reset_job_clock.write_text("0")
    assert shifted_days(utils.get_utc_datetime()) == 8
    assert shifted_days(job.datetime.now(dt.UTC)) == 0  # the monthly reset stays on the real clock

    reset_job_clock.write_text(str(30 * DAY))  # what test_budget_alerts_e2e's reset test does
    assert shifted_days(job.datetime.now(dt.UTC)) == 30
    assert shifted_days(job.datetime.utcnow().replace(tzinfo=dt.UTC)) == 30
    assert isinstance(dt.datetime.now(), job.datetime)  # LiteLLM's isinstance checks still pass

    clock.unlink()  # no file: the real clock
    assert shifted_days(utils.get_utc_datetime()) == 0
