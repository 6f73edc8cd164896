"""gateway/config.yaml: loadable by LiteLLM's own proxy config loader, and free of secrets."""

from __future__ import annotations

import asyncio
import re

import pytest
import yaml

SECRET_KEYS = re.compile(r"(key|secret|password|token|database_url|credential)", re.I)
SECRET_VALUES = re.compile(r"(sk-[A-Za-z0-9_-]{8,}|AKIA[0-9A-Z]{16}|postgres(ql)?://|redis://|-----BEGIN)")


def walk(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, (*path, str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, (*path, str(i)))
    else:
        yield path, node


@pytest.fixture(scope="module")
def config(repo_root):
    return yaml.safe_load((repo_root / "gateway" / "config.yaml").read_text())


def test_hard_constraints(config):
    gs = config["general_settings"]
    assert gs["database_connection_pool_limit"] == 5
    assert gs["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    assert gs["database_url"] == "os.environ/DATABASE_URL"
    assert gs["disable_prisma_schema_update"] is True
    assert gs["store_model_in_db"] is False
    assert config["litellm_settings"]["timezone"] == "Asia/Kolkata"


def test_no_value_looks_like_a_literal_secret(config):
    for path, value in walk(config):
        if isinstance(value, str):
            assert not SECRET_VALUES.search(value), f"{'.'.join(path)} looks like a secret"
            if SECRET_KEYS.search(path[-1]):
                assert value.startswith("os.environ/"), f"{'.'.join(path)} must come from os.environ/..."


def test_secret_scan_catches_a_literal(config):
    """The scan above can fail: a planted literal is caught."""
    bad = {**config, "general_settings": {**config["general_settings"], "master_key": "sk-1234abcd5678"}}
    with pytest.raises(AssertionError):
        test_no_value_looks_like_a_literal_secret(bad)


def test_nothing_stateful_on_local_disk(config):
    text = yaml.safe_dump(config)
    for marker in ("disk", "/var/", "/tmp", "local_cache", "s3_bucket_name", "log_file"):
        assert marker not in text
    assert (config["litellm_settings"].get("cache_params") or {}).get("type") != "disk"


@pytest.mark.slow  # imports the LiteLLM proxy: seconds
def test_real_litellm_loader_accepts_config(repo_root, monkeypatch):
    """litellm's ProxyConfig reads the file, resolves os.environ/... and builds the model list."""
    from litellm.proxy.proxy_server import ProxyConfig

    monkeypatch.setenv("LITELLM_MASTER_KEY", "sk-test-master")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@127.0.0.1:1/db")
    loader = ProxyConfig()
    raw = asyncio.run(loader.get_config(config_file_path=str(repo_root / "gateway" / "config.yaml")))
    names = sorted({m["model_name"] for m in raw["model_list"]})  # a `fallback:` is a second deployment of one
    assert names == ["model-balanced", "model-cheap", "model-reasoning"]
    assert raw["general_settings"]["database_connection_pool_limit"] == 5
    resolved = loader._check_for_os_environ_vars(config={"k": raw["general_settings"]["master_key"]})
    assert resolved["k"] == "sk-test-master"
