""".pre-commit-hooks.yaml: other repositories run `gatewayctl validate` as a pre-commit hook."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import run_gatewayctl_in_process
from pre_commit.clientlib import load_manifest

REPO = Path(__file__).resolve().parents[1]


def hook() -> dict:
    (only,) = load_manifest(REPO / ".pre-commit-hooks.yaml")  # pre-commit's own manifest validation
    return only


def test_the_manifest_offers_gatewayctl_validate():
    h = hook()
    assert h["id"] == "gatewayctl-validate" and h["language"] == "python" and h["pass_filenames"] is False
    command = shlex.split(h["entry"])
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert command == ["gatewayctl", "validate"] and scripts["gatewayctl"] == "reconciler.cli:main"


def test_the_hook_runs_when_a_grant_or_its_rules_change():
    files = re.compile(hook()["files"])
    for path in ("users/alice.yaml", "policies/tiers.yaml", "schemas/user.schema.json", "gateway/config.yaml"):
        assert files.search(path), path
    for path in ("README.md", "terraform/modules/kms/main.tf", "gateway/config.yaml.bak", "docs/users/x.md"):
        assert not files.search(path), path


@pytest.mark.process
def test_the_hook_entry_validates_the_repository_it_runs_in(tmp_path):
    """What pre-commit runs: the entry, in the other repository's root, with no file names. The console
    script runs once as a process; the failing cases run the same entry in process (exit codes across the
    process boundary have their own tests), which keeps gatewayctl subprocesses few."""
    for name in ("users", "policies", "schemas", "gateway"):
        shutil.copytree(REPO / name, tmp_path / name)
    entry = shlex.split(hook()["entry"])
    command = [str(Path(sys.executable).parent / entry[0]), *entry[1:]]
    ok = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (tmp_path / "users" / "bob.yaml").write_text((REPO / "users" / "bob.yaml").read_text().replace(
        "tier: coding", "tier: platinum"))
    bad = run_gatewayctl_in_process(tuple(entry[1:]), tmp_path, dict(os.environ))
    assert bad.returncode == 1 and re.search(r"^users/bob\.yaml:5:7: tier 'platinum' does not exist", bad.stdout,
                                             re.M), bad.stdout + bad.stderr
    shutil.rmtree(tmp_path / "schemas")
    lost = run_gatewayctl_in_process(tuple(entry[1:]), tmp_path, dict(os.environ))
    assert lost.returncode == 1 and "needs the schemas/ folder" in lost.stdout and "Traceback" not in lost.stderr
