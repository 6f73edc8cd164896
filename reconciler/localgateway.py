"""An embedded gateway for the demo and the tests: the genuine LiteLLM proxy, run through
../shared/litellm-harness, with the project's own gateway/config.yaml pointed at a fake Bedrock.

Only two things change in the config, both because the harness, not AWS, hosts the proxy:
the harness owns the database (so `database_url` is dropped; LiteLLM reads DATABASE_URL), and
each model gets `aws_bedrock_runtime_endpoint` = the fake Bedrock's URL.

The fake Bedrock is the project's own (tools/fake-bedrock), started here and handed to the harness
by port: it can be switched while it runs (latency, ...), so one proxy serves tests that need
different Bedrock behaviour.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from reconciler.desired import guardrails

FAKE_BEDROCK_ENV = "os.environ/LITELLM_HARNESS_FAKE_BEDROCK_URL"


class HarnessMissing(RuntimeError):
    """No LiteLLM harness where this machine keeps it."""


def harness_dir(repo_root: Path) -> Path:
    configured = os.environ.get("LITELLM_HARNESS_DIR")
    return Path(configured) if configured else (repo_root / ".." / "shared" / "litellm-harness").resolve()


def harness_available(repo_root: Path) -> bool:
    return (harness_dir(repo_root) / "harness.py").is_file()


def local_config(repo_root: Path, dest: Path, overrides: dict | None = None) -> Path:
    """Write the project's gateway config, adapted to the harness, to `dest`. `overrides` are top-level
    sections added to the config's, a section that is a mapping merged into the config's (tests that
    measure a LiteLLM feature the project leaves off, e.g. {"general_settings": {"alerting": [...]}})."""
    config = yaml.safe_load((repo_root / "gateway" / "config.yaml").read_text(encoding="utf-8"))
    for section, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(config.get(section), dict):
            config[section].update(value)
        else:
            config[section] = value
    config.get("general_settings", {}).pop("database_url", None)
    for model in config["model_list"]:
        model["litellm_params"]["aws_bedrock_runtime_endpoint"] = FAKE_BEDROCK_ENV
    dest.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return dest


def guardrail_setup(repo_root: Path, run_dir: Path) -> tuple[dict[str, str], list[str]]:
    """The guardrails of policies/tiers.yaml as they exist on AWS after Terraform: the proxy's
    GUARDRAIL_<TIER>_ID/_VERSION and the fake Bedrock's --guardrails file."""
    tiers = yaml.safe_load((repo_root / "policies" / "tiers.yaml").read_text(encoding="utf-8"))["tiers"]
    env, definitions = guardrails.local_setup(tiers)
    path = run_dir / "guardrails.json"
    path.write_text(json.dumps(definitions), encoding="utf-8")
    return env, ["--guardrails", str(path)]


class FakeBedrock:
    """tools/fake-bedrock as a child process: its URL, its request log, and stop()."""

    def __init__(self, repo_root: Path, run_dir: Path, env: dict | None = None, args: tuple[str, ...] = ()):
        run_dir.mkdir(parents=True, exist_ok=True)
        self.requests_log = run_dir / "fake-bedrock-requests.jsonl"
        self.requests_log.write_text("", encoding="utf-8")
        ready = run_dir / "fake-bedrock.port"
        ready.unlink(missing_ok=True)
        self._output = open(run_dir / "fake-bedrock.log", "ab")  # closed in stop()
        self._proc = subprocess.Popen(
            [sys.executable, str(repo_root / "tools" / "fake-bedrock" / "fake-bedrock"), "--port", "0",
             "--log", str(self.requests_log), "--ready-file", str(ready), "--watch-pid", str(os.getpid()), *args],
            env={**os.environ, **(env or {})}, stdout=self._output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not ready.is_file():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"fake Bedrock did not start; see {run_dir / 'fake-bedrock.log'}")
            time.sleep(0.05)
        self.port = int(ready.read_text(encoding="utf-8"))
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._output.close()


class LocalGateway:
    """A started LiteLLMHarness on the project's fake Bedrock: the harness's attributes, with the fake's
    URL and request log, and stop() for both."""

    def __init__(self, harness, fake: FakeBedrock):
        self.harness, self.fake = harness, fake

    def __getattr__(self, name: str):
        return getattr(self.harness, name)

    @property
    def fake_bedrock_url(self) -> str:
        return self.fake.url

    @property
    def fake_bedrock_requests_log(self) -> str:
        return str(self.fake.requests_log)

    def fake_bedrock_requests(self) -> list[dict]:
        """The requests the fake Bedrock received so far."""
        lines = self.fake.requests_log.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def stop(self) -> None:
        try:
            self.harness.stop()
        finally:
            self.fake.stop()


def start(repo_root: Path, run_dir: Path, *, litellm_args: tuple[str, ...] = (), env: dict | None = None,
          echo=sys.stderr, config_overrides: dict | None = None) -> LocalGateway:
    """Start the project's fake Bedrock and the harness with the project's config on it."""
    hdir = harness_dir(repo_root)
    if not harness_available(repo_root):
        raise HarnessMissing(f"LiteLLM harness not found at {hdir}; set LITELLM_HARNESS_DIR")
    sys.dont_write_bytecode = True  # the harness folder is read-only
    if str(hdir) not in sys.path:
        sys.path.insert(0, str(hdir))
    from harness import LiteLLMHarness

    run_dir.mkdir(parents=True, exist_ok=True)
    config = local_config(repo_root, run_dir / "gateway-config.yaml", config_overrides)
    guardrail_env, fake_args = guardrail_setup(repo_root, run_dir)
    env = {**guardrail_env, **(env or {})}
    fake = FakeBedrock(repo_root, run_dir / "fake-bedrock", env, tuple(fake_args))
    h = LiteLLMHarness(run_dir / "harness", config=str(config), timeout=600, litellm_args=litellm_args,
                       env=env, fake_bedrock_port=fake.port, echo=echo)
    try:
        h.start()
    except BaseException:
        fake.stop()
        raise
    return LocalGateway(h, fake)
