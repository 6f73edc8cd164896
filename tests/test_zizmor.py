"""zizmor (security lint of GitHub Actions workflows) with the strictest persona, offline: every
finding in .github/workflows is fixed or justified inline, so a new one fails the pre-commit hook
(tests/test_precommit.py runs it on every file). Here: the hook is configured so, and zizmor catches
a finding when there is one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tools
ZIZMOR = Path(sys.executable).parent / "zizmor"


def zizmor(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(ZIZMOR), "--offline", "--persona=auditor", "--no-progress", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


def test_zizmor_catches_template_injection(tmp_path: Path):
    wf = tmp_path / ".github" / "workflows" / "bad.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text(
        "name: bad\non: pull_request_target\npermissions: {}\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo \"${{ github.event.pull_request.title }}\"\n")
    proc = zizmor(".github/workflows", cwd=tmp_path)
    assert proc.returncode != 0 and "template-injection" in proc.stdout, proc.stdout + proc.stderr


def test_pre_commit_runs_zizmor_on_workflows(repo_root: Path):
    import yaml

    hooks = [h for r in yaml.safe_load((repo_root / ".pre-commit-config.yaml").read_text())["repos"]
             for h in r["hooks"]]
    (hook,) = [h for h in hooks if h["id"] == "zizmor"]
    assert hook["entry"].startswith("zizmor --offline --persona=auditor") and "workflows" in hook["files"]
