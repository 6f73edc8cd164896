"""compose.yaml: the local Docker stack. No engine is needed for these checks."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose.yaml"
IMAGE = re.compile(r"^ghcr\.io/berriai/litellm-database:v(?P<version>\d+\.\d+\.\d+)$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def pinned_litellm_version() -> str:
    for name in ("requirements/dev.lock", "pyproject.toml"):
        path = ROOT / name
        if path.is_file():
            m = re.search(r"""^\s*["']?litellm(?:\[[a-z,]+\])?==([0-9][0-9.]*)""",
                          path.read_text(encoding="utf-8"), re.M)
            if m:
                return m.group(1)
    pytest.fail("no litellm==X.Y.Z pin in requirements/dev.lock or pyproject.toml")


def test_structure(compose):
    services = compose["services"]
    assert {"db", "fake-bedrock", "migrate", "litellm"} <= set(services)
    for name, svc in services.items():
        assert isinstance(svc.get("image"), str) and svc["image"], name
        assert not re.search(r":(latest|main-latest|main-stable|stable|nightly)$", svc["image"]), name
    assert services["db"]["image"].startswith("postgres:15")
    assert services["fake-bedrock"]["image"].startswith("python:3.11-slim")


def test_litellm_image_matches_pinned_version(compose):
    version = pinned_litellm_version()
    for name in ("litellm", "migrate"):
        m = IMAGE.match(compose["services"][name]["image"])
        assert m, compose["services"][name]["image"]
        assert m["version"] == version, f"{name}: image {m['version']} != pinned litellm {version}"


def _bind_mounts(svc: dict) -> dict[str, str]:
    mounts = {}
    for v in svc.get("volumes") or []:
        if isinstance(v, str) and v.startswith((".", "/")):
            src, dst = v.split(":")[:2]
            mounts[dst] = src
    return mounts


def test_mounts_gateway_config(compose):
    svc = compose["services"]["litellm"]
    mounts = _bind_mounts(svc)
    src = mounts.get("/app/config.yaml")
    assert src is not None, mounts
    assert (COMPOSE.parent / src).resolve() == (ROOT / "gateway" / "config.yaml").resolve()
    assert (ROOT / "gateway" / "config.yaml").is_file()
    cmd = svc["command"]
    assert cmd[cmd.index("--config") + 1] == "/app/config.yaml"


def test_fake_bedrock_is_the_repositorys_copy_of_the_harness_script(compose):
    """Nothing outside the checkout: a newcomer with Docker and without ../shared can run the stack."""
    svc = compose["services"]["fake-bedrock"]
    mounts = _bind_mounts(svc)
    (dst, src), = mounts.items()
    assert (COMPOSE.parent / src).resolve() == (ROOT / "tools" / "fake-bedrock" / "fake-bedrock").resolve()
    assert (ROOT / src).is_file()
    assert not any(str(v).startswith("..") for s in compose["services"].values() for v in s.get("volumes") or [])
    assert dst in svc["command"]
    assert compose["services"]["litellm"]["environment"]["AWS_BEDROCK_RUNTIME_ENDPOINT"].endswith(":9090")
    assert "9090" in svc["command"]


def test_credentials_are_obviously_fake(compose):
    env = compose["services"]["litellm"]["environment"]
    master = re.sub(r"^\$\{LITELLM_MASTER_KEY:-(.*)\}$", r"\1", env["LITELLM_MASTER_KEY"])
    assert master == "sk-local-dev-only"
    for key in ("LITELLM_SALT_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "DATABASE_URL"):
        assert "local-dev" in env[key], key
    text = COMPOSE.read_text(encoding="utf-8")
    assert "LITELLM_TEST_BASE_URL=http://localhost:4000" in text
    for port in compose["services"]["litellm"].get("ports", []):
        assert str(port).startswith("127.0.0.1:"), "ports must bind to loopback only"


def test_startup_order(compose):
    s = compose["services"]
    assert s["litellm"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert s["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "--config" not in s["migrate"]["command"]
    assert s["migrate"]["environment"]["DISABLE_SCHEMA_UPDATE"] == "false"


def _compose_plugin() -> bool:
    if shutil.which("docker") is None:
        return False
    res = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
    return res.returncode == 0


@pytest.mark.tools
@pytest.mark.skipif(not _compose_plugin(), reason="docker compose plugin not installed")
def test_docker_compose_config():
    # `docker compose config` resolves and validates the file without talking to an engine.
    res = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
                         capture_output=True, text=True, check=False, cwd=ROOT, timeout=60)
    assert res.returncode == 0, res.stderr
