"""`pre-commit run --all-files` passes offline (checkov is skipped here: tests/terraform runs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tools


def test_pre_commit_passes_on_all_files(repo_root: Path):
    bindir = Path(sys.executable).parent
    checkov_bin = repo_root / ".venv-checkov" / "bin"
    env = {**os.environ, "PATH": f"{bindir}:{checkov_bin}:{os.environ['PATH']}", "SKIP": "checkov"}
    assert shutil.which("terraform", path=env["PATH"]), "terraform must be on PATH"
    proc = subprocess.run([str(bindir / "pre-commit"), "run", "--all-files"], cwd=repo_root, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
