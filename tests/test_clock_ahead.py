"""Tests that don't expire: the fast suite passes with the clock a year and more ahead.

A literal date in a test (an expiry, a grant) is a time bomb: `test_expired_user_is_revoked` wrote
`expires: 2026-12-01` and failed from 2026-12-02 on. Dates in tests count from the test's clock (the
`day` fixture, or a fixed `today=`). This runs the fast tests under Debian's libfaketime, 400 days on,
so the next literal date fails here, in review, and not on the day it passes."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
AHEAD_DAYS = 400
FAST = "not integration and not tools and not slow"  # make test-unit's selection

pytestmark = pytest.mark.tools


def test_the_fast_tests_pass_a_year_ahead(tmp_path: Path):
    faketime = shutil.which("faketime")
    if faketime is None:
        if os.environ.get("CI"):
            pytest.fail("faketime is missing: .ci/run installs Debian's faketime package")
        pytest.skip("SKIPPED LOUDLY: Debian's faketime is not installed (apt-get install faketime)")
    proc = subprocess.run(
        [faketime, "-f", f"+{AHEAD_DAYS}d", sys.executable, "-m", "pytest", "-q", "-m", FAST,
         "-p", "no:cacheprovider", f"--basetemp={tmp_path / 'inner'}"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    tail = "\n".join(proc.stdout.splitlines()[-30:])
    assert proc.returncode == 0, f"the fast tests fail {AHEAD_DAYS} days ahead:\n{tail}\n{proc.stderr[-2000:]}"
    assert " passed" in tail and " failed" not in tail


def test_the_faked_clock_really_moves():
    """The check above means something only if libfaketime moves Python's clock."""
    faketime = shutil.which("faketime")
    if faketime is None:
        pytest.skip("SKIPPED LOUDLY: Debian's faketime is not installed (apt-get install faketime)")
    out = subprocess.run([faketime, "-f", f"+{AHEAD_DAYS}d", sys.executable, "-c",
                          "import datetime; print(datetime.datetime.now(datetime.UTC).date())"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    shifted = dt.date.fromisoformat(out.strip())
    assert (shifted - dt.datetime.now(dt.UTC).date()).days in (AHEAD_DAYS, AHEAD_DAYS + 1)


def test_sample_grants_outlast_the_year_ahead_check():
    """The sample users' grants stay valid beyond the year-ahead run, with a year to spare, so that
    validate's expiry warning can't surprise a newcomer; when one comes near, this says which to move."""
    horizon = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2 * 365)
    near = {}
    for path in sorted((REPO / "users").glob("*.yaml")):
        expires = yaml.safe_load(path.read_text()).get("expires")
        if expires is not None and expires < horizon:
            near[f"users/{path.name}"] = str(expires)
    assert not near, f"sample grants expire within two years; move their `expires` further out: {near}"
