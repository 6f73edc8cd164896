"""Shared set-up of the Terraform tests: one CLI configuration (the provider mirror) per session, and
one private copy of the configuration per worker, initialised once per directory.

The copy keeps `terraform init` out of the working tree, so two pytest sessions or xdist workers never
share a `.terraform` directory; tests/conftest.py groups the tests that use it by directory, so one
worker inits each directory once and the directories spread over both workers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TF_ROOT = REPO / "terraform"
TERRAFORM = shutil.which("terraform")
# What the roots read besides terraform/ (policies/models.yaml, policies/tiers.yaml, gateway/config.yaml).
CONFIG_TREES = ("terraform", "policies", "gateway")


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def run_tf(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TERRAFORM, *args],  # type: ignore[list-item]
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def copy_config(dest: Path) -> Path:
    """Copy what the Terraform roots read into dest (no .terraform, no state); return dest."""
    for tree in CONFIG_TREES:
        shutil.copytree(
            REPO / tree,
            dest / tree,
            ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "tfplan", "__pycache__"),
        )
    return dest


@pytest.fixture(scope="session")
def tf_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment with a generated CLI config pointing at the provider mirror."""
    cfg = tmp_path_factory.mktemp("tfcli") / "terraform.rc"
    subprocess.run([str(TF_ROOT / "scripts" / "tf-cli-config"), str(cfg)], check=True, capture_output=True, text=True)
    env = dict(os.environ)
    env.update(TF_CLI_CONFIG_FILE=str(cfg), TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1")
    env.pop("TF_PLUGIN_CACHE_DIR", None)  # the unpacked mirror is linked into .terraform, a cache adds nothing
    return env


class InitialisedTree:
    """A private copy of the configuration; init() runs `terraform init` once per directory."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env
        self._done: set[Path] = set()

    def path(self, directory: Path) -> Path:
        return self.root / directory.relative_to(REPO)

    def init(self, directory: Path) -> Path:
        copy = self.path(directory)
        if copy not in self._done:
            res = run_tf(["init", "-backend=false", "-input=false", "-no-color"], copy, self.env)
            assert res.returncode == 0, f"terraform init failed in {rel(directory)}:\n{res.stdout}\n{res.stderr}"
            self._done.add(copy)
        return copy


@pytest.fixture(scope="session")
def tf_tree(tmp_path_factory: pytest.TempPathFactory, tf_env: dict[str, str]) -> InitialisedTree:
    return InitialisedTree(copy_config(tmp_path_factory.mktemp("tftree")), tf_env)


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist registers this marker itself; without it, --strict-markers needs it declared.
    config.addinivalue_line("markers", "xdist_group(name): run on the same xdist worker as the group's other tests")
