"""The rehearsal's tests are the steps of one pipeline run, in file order: once a step fails, the
later ones are skipped (they would only fail for the same reason), and the first failure is the one
reported."""

from __future__ import annotations

import pytest

_failed: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist's own marker (--dist loadgroup keeps a group on one worker), declared here too so that
    # --strict-markers accepts it when xdist is not installed.
    config.addinivalue_line("markers", "xdist_group(name): run every test of the group on one xdist worker")


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> None:
    if call.excinfo is not None and call.when == "call" and item.get_closest_marker("rehearsal"):
        _failed.setdefault(item.module.__name__, item.name)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("rehearsal") and item.module.__name__ in _failed:
        pytest.skip(f"an earlier step of the pipeline failed: {_failed[item.module.__name__]}")
