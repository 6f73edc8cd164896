"""The CLI's garbage-collector tuning (reconciler/collector.py) stays inside one run."""

from __future__ import annotations

import gc

import pytest

from reconciler import cli
from reconciler.collector import YOUNG_THRESHOLD, fewer_collections


def test_thresholds_are_raised_inside_and_restored_after_even_on_error():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
        raise RuntimeError("boom")
    assert gc.get_threshold() == before


def test_a_command_runs_with_fewer_collections(monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(cli, "cmd_validate", lambda args: seen.append(gc.get_threshold()) or 0)
    before = gc.get_threshold()
    assert cli.main(["validate", "--root", str(tmp_path)]) == 0
    assert seen == [(YOUNG_THRESHOLD, *before[1:])] and gc.get_threshold() == before
