"""`make demo` on a machine with neither the LiteLLM harness nor Docker: two lines that say what is
missing and the two ways to get it, exit 1, never a traceback (reconciler/demo.py). With Docker it runs
compose.yaml's stack, which tests/test_compose.py checks needs nothing outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.process
def test_without_harness_or_docker_the_demo_says_what_is_missing_in_two_lines(tmp_path):
    nowhere = tmp_path / "no-harness"
    empty_path = tmp_path / "bin"  # no docker on it
    empty_path.mkdir()
    env = {**os.environ, "LITELLM_HARNESS_DIR": str(nowhere), "PATH": str(empty_path)}
    proc = subprocess.run([sys.executable, "-m", "reconciler.demo"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr
    assert str(nowhere) in lines[0] and "no Docker with `docker compose`" in lines[0]
    assert "install Docker with the compose plugin" in lines[1] and "LITELLM_HARNESS_DIR" in lines[1]
    assert "Traceback" not in proc.stderr
