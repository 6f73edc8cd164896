"""make setup installs from hashes with a pinned installer, never with whatever pip the machine ships.

Python 3.11.7's venv ships pip 23.2.1, which stops on litellm's `httpx[http2]` extra in
--require-hashes mode since httpx 0.29.0 was released. The machine's pip now installs only
requirements/installer.lock (uv, one wheel, no dependencies), and uv installs the project's locks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.tools, pytest.mark.slow]


def _pins(lock: Path) -> dict[str, str]:
    return dict(re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", lock.read_text(), flags=re.MULTILINE))


def _run(*cmd, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_the_installer_lock_is_one_hashed_wheel():
    lock = (REPO / "requirements" / "installer.lock").read_text()
    assert list(_pins(REPO / "requirements" / "installer.lock")) == ["uv"]
    assert lock.count("--hash=sha256:") >= 2  # a wheel per platform, each pinned


@pytest.mark.parametrize("lock", ["dev.lock", "checkov.lock"])
def test_each_lock_installs_with_the_pinned_installer_into_an_empty_venv(tmp_path: Path, lock: str):
    base_python = getattr(sys, "_base_executable", sys.executable)
    # The bootstrap exactly as the Makefile runs it: the interpreter's own pip, hash mode, one wheel.
    _run(base_python, "-m", "venv", tmp_path / "installer")
    _run(tmp_path / "installer/bin/pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--require-hashes", "-r", REPO / "requirements/installer.lock")
    uv = tmp_path / "installer/bin/uv"
    _run(uv, "venv", "--quiet", "--python", base_python, tmp_path / "venv")
    python = tmp_path / "venv/bin/python"
    _run(uv, "pip", "sync", "--quiet", "--require-hashes", "--python", python, REPO / "requirements" / lock)
    installed = _run(uv, "pip", "freeze", "--python", python).stdout
    pins = _pins(REPO / "requirements" / lock)
    got = dict(line.split("==", 1) for line in installed.splitlines() if "==" in line)
    norm = lambda name: re.sub(r"[-_.]+", "-", name).lower()  # noqa: E731
    assert {norm(k): v for k, v in got.items()} == {norm(k): v for k, v in pins.items()}
    if lock == "dev.lock":  # the pin that broke pip 23.2.1 is honoured: httpx stays at the lock's 0.28.x
        out = _run(python, "-c", "import httpx, litellm; print(httpx.__version__)").stdout.strip()
        assert out == pins["httpx"]
