"""Test-only: moves the LiteLLM proxy's clock, so a test can see a budget exception expire.

Put this directory on the proxy's PYTHONPATH and name a file in GATEWAY_TEST_CLOCK_FILE holding a
number of seconds: `litellm.utils.get_utc_datetime()`, the clock LiteLLM's budget checks read
(temp_budget_expiry included), then runs that far ahead. The file is read on every call, so a
test moves the clock of a running proxy by rewriting it. Nothing else in the process is touched.
"""

from __future__ import annotations

import datetime as _dt
import importlib.abc
import os
import sys

_CLOCK_FILE = os.environ.get("GATEWAY_TEST_CLOCK_FILE")


def _offset() -> float:
    try:
        with open(_CLOCK_FILE, encoding="utf-8") as fh:
            return float(fh.read().strip() or 0)
    except (OSError, ValueError):
        return 0.0


class _ShiftLiteLLMClock(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "litellm.utils":
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
            real = module.get_utc_datetime

            def get_utc_datetime() -> _dt.datetime:
                return real() + _dt.timedelta(seconds=_offset())

            module.get_utc_datetime = get_utc_datetime

        spec.loader.exec_module = exec_module
        return spec


if _CLOCK_FILE:
    sys.meta_path.insert(0, _ShiftLiteLLMClock())
