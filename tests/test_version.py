"""One version: pyproject.toml's, as installed. `gatewayctl --version` prints it, and every plan file
and audit record names the gatewayctl that made it."""

from __future__ import annotations

import json
import os
import tomllib
from importlib.metadata import version
from pathlib import Path

from helpers import run_gatewayctl_in_process

import reconciler
from reconciler.plan import Plan

REPO = Path(__file__).resolve().parents[1]


def test_version_is_the_packages():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert reconciler.__version__ == version("llm-gateway-gitops") == declared
    out = run_gatewayctl_in_process(("--version",), REPO, dict(os.environ))
    assert out.returncode == 0 and out.stdout.strip() == f"gatewayctl {declared}"


def test_plan_files_name_the_gatewayctl_that_made_them():
    from test_plan_unit import converged, desired, plan_for, user

    plan = plan_for(desired(user("ann")), converged())
    data = json.loads(json.dumps(plan.to_json(), default=str))
    assert data["gatewayctl_version"] == reconciler.__version__
    assert Plan.from_json(data).tool_version == reconciler.__version__
