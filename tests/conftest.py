"""Shared fixtures: a workspace copy of the repo's policy files, generated users, the genuine
LiteLLM proxy (../shared/litellm-harness, or LITELLM_TEST_BASE_URL for `docker compose up`),
and moto's Secrets Manager as a real HTTP server."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from fakelitellm import FakeLiteLLM  # noqa: E402
from helpers import Gateway, run_gatewayctl_in_process  # noqa: E402

from reconciler.live.keystore import FileStore  # noqa: E402

# Under `make test` (pytest-xdist, --dist loadgroup) each group runs on one worker, so its expensive
# fixtures start once: every test on a shared genuine proxy (session-scoped `gateway`, `clock_gateway`) in
# one group per proxy, each Terraform directory's tests (each worker inits its own copy once per directory)
# in one, and the rehearsal's steps, which hand state to each other, in another; a module with
# module-scoped fixtures (a Redis, an SMTP sink) stays on one worker too.
PROXY_GROUP = "gateway"
# The session-scoped proxies and the group that keeps each on one worker: a new test that takes the
# fixture joins its group by itself.
PROXY_GROUPS = {"gateway": PROXY_GROUP, "clock_gateway": "clock_gateway"}
REHEARSAL_GROUP = "rehearsal"
# xdist 3.8 passes a test's group to the scheduler as a suffix of its node id, which pytest 9 no longer
# lets a plugin change: the groups would be ignored. So the first worker writes {node id: group} to this
# file while collecting, and the scheduler below (in the controller, which collects nothing) reads it.
GROUPS_FILE_ENV = "GATEWAY_TESTS_XDIST_GROUPS"


def _start_order(item: pytest.Item) -> int:
    """The scheduler hands out groups in collection order (--no-loadscope-reorder): the rehearsal first (the
    longest, mostly waiting), then the proxies' groups (indivisible, so they must not come last), then the
    rest, small units that fill both workers at the end."""
    group = _xdist_group(item)
    return 0 if group == REHEARSAL_GROUP else 1 if group in PROXY_GROUPS.values() else 2


def _xdist_group(item: pytest.Item) -> str | None:
    names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                    for m in item.iter_markers("xdist_group")})
    return "_".join(names) or None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers that follow from what a test uses: the `gateway` fixture is the genuine proxy
    (integration); tests/terraform and tests/rehearsal run Terraform and other programs (tools).
    `make test-unit` runs what is left."""
    here = Path(__file__).parent
    for item in items:
        if item.get_closest_marker("contract_only") and not item.get_closest_marker("litellm_contract"):
            raise pytest.UsageError(f"{item.nodeid}: contract_only without litellm_contract: no target runs it")
        folder = item.path.parent.relative_to(here).parts[:1]
        if folder in (("terraform",), ("rehearsal",)):
            item.add_marker(pytest.mark.tools)
            if folder == ("rehearsal",):
                item.add_marker(pytest.mark.xdist_group(REHEARSAL_GROUP))
            elif "tf_tree" in getattr(item, "fixturenames", ()):
                # Each worker initialises its own copy of terraform/, once per directory: one directory's
                # tests stay on one worker, and the directories spread over both.
                directory = getattr(item, "callspec", None) and item.callspec.params.get("directory")
                item.add_marker(pytest.mark.xdist_group(f"terraform:{Path(directory or REPO).relative_to(REPO)}"))
        proxies = [group for fixture, group in PROXY_GROUPS.items() if fixture in getattr(item, "fixturenames", ())]
        if proxies:
            item.add_marker(pytest.mark.integration)
            if not folder:
                item.add_marker(pytest.mark.xdist_group(proxies[0]))  # a test on both proxies goes with the first
        elif not folder and any(d.scope in ("module", "package")
                                for ds in item._fixtureinfo.name2fixturedefs.values() for d in ds):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))  # its module's fixtures start once
    groups_file = os.environ.get(GROUPS_FILE_ENV)
    if groups_file:  # every worker sorts alike, so their collections still match
        items.sort(key=_start_order)
    if groups_file and os.environ.get("PYTEST_XDIST_WORKER") == "gw0":
        groups = {item.nodeid: group for item in items if (group := _xdist_group(item))}
        Path(groups_file).write_text(json.dumps(groups), encoding="utf-8")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("dist", "no") == "loadgroup" and "PYTEST_XDIST_WORKER" not in os.environ:
        groups_file = Path(tempfile.mkdtemp(prefix="xdist-groups-")) / "groups.json"
        os.environ[GROUPS_FILE_ENV] = str(groups_file)  # the workers, started later, inherit it


def pytest_unconfigure(config: pytest.Config) -> None:
    if "PYTEST_XDIST_WORKER" not in os.environ and (groups_file := os.environ.pop(GROUPS_FILE_ENV, None)):
        shutil.rmtree(Path(groups_file).parent, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """--dist loadgroup with the groups from GROUPS_FILE_ENV (a test without a group is its own unit)."""
    if config.getoption("dist", "no") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # asked only once every worker has collected
                self.groups = json.loads(Path(os.environ[GROUPS_FILE_ENV]).read_text(encoding="utf-8"))
            return self.groups.get(nodeid, nodeid)

    return GroupScheduling(config, log)


@pytest.fixture
def day():
    """`day(n)`: the ISO date n days after the UTC day this test started. Tests that move gatewayctl's
    clock (`--today`) count from it and stamp their first apply with `day(0)`: a date taken when the
    module was imported may be the day before, once a run crosses midnight."""
    start = dt.datetime.now(dt.UTC).date()
    return lambda offset=0: (start + dt.timedelta(days=offset)).isoformat()


@pytest.fixture
def fake() -> FakeLiteLLM:
    """The fake of LiteLLM's admin API (tests/fakelitellm.py), empty."""
    return FakeLiteLLM()


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    """A key store in 0600 files."""
    return FileStore(tmp_path / "keys")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the repository's policy-relevant files that a test may edit."""
    for name in ("policies", "schemas", "users", "gateway"):
        shutil.copytree(REPO / name, tmp_path / name)
    return tmp_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto in server mode: a real HTTP endpoint speaking the Secrets Manager API."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    yield url
    server.stop()


@pytest.fixture(scope="session")
def project_kms_key(moto_server: str) -> str:
    """The project's customer-managed KMS key (terraform/modules/kms), as moto's KMS knows it."""
    import boto3

    kms = boto3.client("kms", endpoint_url=moto_server, region_name="ap-south-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing")  # pragma: allowlist secret
    return kms.create_key(Description="llm-gateway (tests)")["KeyMetadata"]["Arn"]


@pytest.fixture
def aws_env(moto_server: str, project_kms_key: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {"AWS_ENDPOINT_URL": moto_server, "AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "ap-south-1",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "GATEWAYCTL_KMS_KEY_ID": project_kms_key}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return env


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The genuine LiteLLM proxy with the project's gateway/config.yaml on a fake Bedrock."""
    external = os.environ.get("LITELLM_TEST_BASE_URL")
    if external:
        key = os.environ.get("LITELLM_TEST_MASTER_KEY", "sk-local-dev-only")  # compose.yaml's default
        yield Gateway(external.rstrip("/"), key, None)
        return
    from reconciler import localgateway

    try:
        h = localgateway.start(REPO, tmp_path_factory.mktemp("gateway"))
    except RuntimeError as exc:
        pytest.fail(f"cannot start the LiteLLM harness: {exc}")
    try:
        yield Gateway(h.base_url, h.master_key, h)
    finally:
        h.stop()


class ClockGateway:
    """The second genuine proxy, shared by the clock-shifted suites (budget alerts, budget guard): its
    clock moves (tests/clock_shift), LiteLLM's monthly reset job runs every 2-3 s on a clock of its own,
    and LiteLLM's own email alerts go to `litellm_mail`. Switched per test, never restarted."""

    native_alert_ttl_s = 8  # LiteLLM's EMAIL_BUDGET_ALERT_TTL here (default 24 h), so a test sees it lapse

    def __init__(self, harness, run_dir: Path, litellm_mail):
        self.harness, self.litellm_mail = harness, litellm_mail
        self.clock = run_dir / "clock-offset-seconds"  # what LiteLLM's budget checks read
        self.reset_job_clock = run_dir / "reset-job-clock-offset-seconds"  # what its monthly reset job reads

    def move_clock(self, seconds: float, *, reset_job: bool = False) -> None:
        """Move the budget checks' clock `seconds` ahead; with `reset_job`, the monthly reset job's too."""
        self.clock.write_text(str(seconds), encoding="utf-8")
        self.reset_job_clock.write_text(str(seconds if reset_job else 0), encoding="utf-8")

    def fake_bedrock(self, **switches) -> None:
        """Set the fake Bedrock's switches (tools/fake-bedrock: latency_ms, ...); none resets them."""
        httpx.put(f"{self.harness.fake_bedrock_url}/_fake/control", json=switches, trust_env=False,
                  timeout=10).raise_for_status()

    def reset(self) -> None:
        self.move_clock(0)
        self.fake_bedrock()


@pytest.fixture(scope="session")
def clock_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClockGateway]:
    """The clock-shifted proxy (ClockGateway), back on the real clock and a prompt fake Bedrock for each
    test. One start serves every test that moves LiteLLM's clock: the two clock files are read on each
    call, and the fake's latency is a switch, so no test needs a proxy of its own."""
    from helpers import SmtpSink

    from reconciler import localgateway

    run = tmp_path_factory.mktemp("clock-gateway")
    sink = SmtpSink()
    with sink as litellm_mail:
        env = {"GATEWAY_TEST_CLOCK_FILE": str(run / "clock-offset-seconds"),
               "GATEWAY_TEST_RESET_JOB_CLOCK_FILE": str(run / "reset-job-clock-offset-seconds"),
               "PYTHONPATH": str(REPO / "tests" / "clock_shift"),
               "PROXY_BUDGET_RESCHEDULER_MIN_TIME": "2", "PROXY_BUDGET_RESCHEDULER_MAX_TIME": "3",
               # LiteLLM's own email alerts, without any licence: SMTP into the sink.
               "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port), "SMTP_SENDER_EMAIL": "litellm@example.com",
               "SMTP_TLS": "False", "EMAIL_BUDGET_ALERT_TTL": str(ClockGateway.native_alert_ttl_s),
               "LITELLM_LICENSE": ""}
        try:
            started = localgateway.start(REPO, run, env=env,
                                         config_overrides={"general_settings": {"alerting": ["email"]}})
            proxy = ClockGateway(started, run, litellm_mail)
            proxy.move_clock(0)
        except RuntimeError as exc:
            pytest.fail(f"cannot start the LiteLLM harness: {exc}")
        try:
            yield proxy
        finally:
            proxy.harness.stop()


@pytest.fixture
def clock_proxy(clock_gateway: ClockGateway) -> Iterator[ClockGateway]:
    """`clock_gateway` on the real clock and a prompt fake Bedrock, before and after the test."""
    clock_gateway.reset()
    try:
        yield clock_gateway
    finally:
        clock_gateway.reset()


@pytest.fixture
def gatewayctl(workspace: Path, gateway: Gateway, aws_env: dict[str, str]):
    """Run gatewayctl in the workspace against the gateway and moto: in process (`subprocess_=True`: as
    `python -m reconciler`, for what depends on the process boundary)."""

    def run(*args: str, check: bool | None = None, env: dict | None = None, timeout: float = 300,
            subprocess_: bool = False) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **aws_env, "LITELLM_BASE_URL": gateway.base_url,
                    "LITELLM_MASTER_KEY": gateway.master_key, "GITHUB_SHA": "0" * 40, **(env or {})}
        if subprocess_:
            proc = subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=workspace, env=full_env,
                                  capture_output=True, text=True, timeout=timeout, check=False)
        else:
            proc = run_gatewayctl_in_process(args, workspace, full_env)
        if check and proc.returncode != 0:
            raise AssertionError(f"gatewayctl {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    return run


@pytest.fixture
def admin(gateway: Gateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.base_url, headers={"Authorization": f"Bearer {gateway.master_key}"},
                      timeout=60, trust_env=False) as c:
        yield c
