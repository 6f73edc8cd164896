"""An embedded gateway for the demo and the tests: the genuine LiteLLM proxy, run through
../shared/litellm-harness, with the project's own gateway/config.yaml pointed at a fake Bedrock.

Only two things change in the config, both because the harness, not AWS, hosts the proxy:
the harness owns the database (so `database_url` is dropped; LiteLLM reads DATABASE_URL), and
each model gets `aws_bedrock_runtime_endpoint` = the fake Bedrock's URL.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

FAKE_BEDROCK_ENV = "os.environ/LITELLM_HARNESS_FAKE_BEDROCK_URL"


class HarnessMissing(RuntimeError):
    """No LiteLLM harness where this machine keeps it."""


def harness_dir(repo_root: Path) -> Path:
    configured = os.environ.get("LITELLM_HARNESS_DIR")
    return Path(configured) if configured else (repo_root / ".." / "shared" / "litellm-harness").resolve()


def harness_available(repo_root: Path) -> bool:
    return (harness_dir(repo_root) / "harness.py").is_file()


def local_config(repo_root: Path, dest: Path, general_settings: dict | None = None) -> Path:
    """Write the project's gateway config, adapted to the harness, to `dest`. `general_settings`
    are added to the config's (tests that measure a LiteLLM feature the project leaves off)."""
    config = yaml.safe_load((repo_root / "gateway" / "config.yaml").read_text(encoding="utf-8"))
    config.get("general_settings", {}).pop("database_url", None)
    config.setdefault("general_settings", {}).update(general_settings or {})
    for model in config["model_list"]:
        model["litellm_params"]["aws_bedrock_runtime_endpoint"] = FAKE_BEDROCK_ENV
    dest.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return dest


def start(repo_root: Path, run_dir: Path, *, litellm_args: tuple[str, ...] = (), env: dict | None = None,
          echo=sys.stderr, general_settings: dict | None = None):
    """Start the harness with the project's config; returns a started LiteLLMHarness."""
    hdir = harness_dir(repo_root)
    if not harness_available(repo_root):
        raise HarnessMissing(f"LiteLLM harness not found at {hdir}; set LITELLM_HARNESS_DIR")
    sys.dont_write_bytecode = True  # the harness folder is read-only
    if str(hdir) not in sys.path:
        sys.path.insert(0, str(hdir))
    from harness import LiteLLMHarness

    run_dir.mkdir(parents=True, exist_ok=True)
    config = local_config(repo_root, run_dir / "gateway-config.yaml", general_settings)
    h = LiteLLMHarness(run_dir / "harness", config=str(config), timeout=600, litellm_args=litellm_args,
                       env=env, fake_bedrock=True, echo=echo)
    h.start()
    return h
