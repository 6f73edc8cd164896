"""Test-only: moves the LiteLLM proxy's clock, so a test can see a budget exception expire.

Put this directory on the proxy's PYTHONPATH and name a file in GATEWAY_TEST_CLOCK_FILE holding a
number of seconds: `litellm.utils.get_utc_datetime()`, the clock LiteLLM's budget checks read
(temp_budget_expiry included), then runs that far ahead. The file is read on every call, so a
test moves the clock of a running proxy by rewriting it. Nothing else in the process is touched,
except the monthly budget reset job (which reads `datetime.now()` in its own modules) when
GATEWAY_TEST_RESET_JOB_CLOCK_FILE names a second such file: the job runs that far ahead, so a
test can see LiteLLM reset a member's spend at the 1st of a month (with
PROXY_BUDGET_RESCHEDULER_MIN_TIME set low), and another test on the same proxy can move the
budget checks days ahead while the job keeps the real clock (tests/conftest.py `clock_gateway`).
"""

from __future__ import annotations

import datetime as _dt
import importlib.abc
import os
import sys

_CLOCK_FILE = os.environ.get("GATEWAY_TEST_CLOCK_FILE")
_RESET_JOB_CLOCK_FILE = os.environ.get("GATEWAY_TEST_RESET_JOB_CLOCK_FILE")
# The modules of LiteLLM's budget reset job that read the wall clock (`from datetime import datetime`).
_RESET_JOB_MODULES = ("litellm.proxy.common_utils.reset_budget_job", "litellm.proxy.common_utils.timezone_utils")


def _offset(clock_file: str | None = _CLOCK_FILE) -> float:
    try:
        with open(clock_file, encoding="utf-8") as fh:
            return float(fh.read().strip() or 0)
    except (OSError, TypeError, ValueError):
        return 0.0


def _shift_get_utc_datetime(module) -> None:
    real = module.get_utc_datetime

    def get_utc_datetime() -> _dt.datetime:
        return real() + _dt.timedelta(seconds=_offset())

    module.get_utc_datetime = get_utc_datetime


class _AnyDatetime(type):
    def __instancecheck__(cls, obj) -> bool:  # real datetimes still pass isinstance(x, datetime)
        return isinstance(obj, _dt.datetime)


class _ShiftedDatetime(_dt.datetime, metaclass=_AnyDatetime):
    @classmethod
    def now(cls, tz=None):
        return _dt.datetime.now(tz) + _dt.timedelta(seconds=_offset(_RESET_JOB_CLOCK_FILE))

    @classmethod
    def utcnow(cls):
        return _dt.datetime.now(_dt.UTC).replace(tzinfo=None) + _dt.timedelta(seconds=_offset(_RESET_JOB_CLOCK_FILE))


def _shift_datetime(module) -> None:
    module.datetime = _ShiftedDatetime


_PATCHES = {"litellm.utils": _shift_get_utc_datetime}
if _RESET_JOB_CLOCK_FILE:
    _PATCHES.update(dict.fromkeys(_RESET_JOB_MODULES, _shift_datetime))


class _ShiftLiteLLMClock(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        patch = _PATCHES.get(name)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            patch(module)

        spec.loader.exec_module = exec_module
        return spec


if _CLOCK_FILE:
    sys.meta_path.insert(0, _ShiftLiteLLMClock())
