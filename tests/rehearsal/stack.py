"""The pieces of the deploy rehearsal: a copy of the repository that commits like main does, the AWS
emulator, CI's scripts run with the environment a GitHub job would give them, and the genuine LiteLLM
proxy started from the task definition Terraform registered (standing in for the ECS service).

Only what cannot exist on this machine is replaced, each in one place:
- AWS is tests/rehearsal/aws_emulator.py (moto's server) at AWS_ENDPOINT_URL, for Terraform, the AWS
  CLI, boto3 and LiteLLM alike;
- Bedrock is the harness's fake Bedrock, reached through AWS_BEDROCK_RUNTIME_ENDPOINT and
  BEDROCK_MANTLE_API_BASE, the variables LiteLLM 1.108.7 reads;
- the database is the harness's PostgreSQL, prepared as production prepares it (db-bootstrap.sh
  as the superuser, then LiteLLM's schema as the application role it created);
- the ECS one-off tasks are recorded by the emulator; their work is the harness's --db-init / --db-role.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from network import SECRET_REF, workflow_steps

REPO = Path(__file__).resolve().parents[2]
REGION = "ap-south-1"
GITHUB_REPOSITORY = "example-org/llm-gateway-gitops"
# The one exclusion from the stack as deployed (tests/rehearsal/README.md): moto has no ElastiCache
# user groups, and an ElastiCache endpoint could not be reached from here anyway.
EMULATOR_TF_VARS = {"cache_enabled": "false"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StepFailed(AssertionError):
    pass


class Rehearsal:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.repo = workdir / "repo"
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.emulator: subprocess.Popen | None = None
        self.endpoint = ""
        self.gateway = None  # a started LiteLLMHarness
        self.settings: dict[str, str] = {}  # the repository secrets, as bootstrap and outputs name them
        self.network = None  # a network.Network once the gateway runs: scripts then reach it as their job would
        self.tasks: list[GatewayTask] = []  # tasks of later revisions, started by roll_gateway
        self._step = 0

    # ------------------------------------------------------------------ repository
    def copy_repository(self) -> None:
        """The working tree as git would commit it (tracked and new files, nothing ignored), as a fresh
        repository on branch main whose origin is itself, so `origin/main` resolves as on a runner."""
        files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                               capture_output=True).stdout.decode().split("\0")
        for rel in filter(None, files):
            src = REPO / rel
            if src.is_file():
                dst = self.repo / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst, follow_symlinks=False)
        self.git("init", "-q", "-b", "main")
        self.commit("the repository under test")
        self.git("remote", "add", "origin", str(self.repo))
        self.git("fetch", "-q", "origin")

    def git(self, *args: str) -> str:
        return subprocess.run(["git", "-c", "user.name=Rehearsal", "-c", "user.email=rehearsal@example.com",
                               *args], cwd=self.repo, check=True, capture_output=True, text=True).stdout

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)

    # ------------------------------------------------------------------ AWS emulator
    def start_emulator(self) -> None:
        port = free_port()
        log = (self.logs / "aws-emulator.log").open("w")
        self.emulator = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("aws_emulator.py")), "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.emulator.poll() is not None:
                raise StepFailed(f"the AWS emulator exited; see {self.logs / 'aws-emulator.log'}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise StepFailed("the AWS emulator did not start within 60 s")

    def aws(self, service: str):  # boto3 client against the emulator
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def aws_env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,  # pragma: allowlist secret
                "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true"}

    # ------------------------------------------------------------------ CI's scripts
    def env(self, extra: dict[str, str] | None = None, script: str | None = None,
            network: str | None = None) -> dict[str, str]:
        """What a GitHub job step sees: the runner's PATH, AWS credentials from configure-aws-credentials
        (here the emulator's), the step's `env:` (the repository settings), nothing of this machine's.
        Once the gateway's network runs, a scripts/ci script gets the gateway address its workflow step
        passes (LITELLM_BASE_URL), as the network of that step's job reaches it (`network` overrides it)."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "TF_", "LITELLM_", "GITHUB_", "GATEWAYCTL"))}
        env.update(self.aws_env())
        env.update({
            "CI": "true",
            "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1",
            "TF_CLI_CONFIG_FILE": str(self.tf_cli_config()),
            "TF_VAR_github_repository": GITHUB_REPOSITORY,
            # `make install` on the runner; here the test's own virtualenv has the same gatewayctl.
            "GATEWAYCTL": str(Path(sys.executable).with_name("gatewayctl")),
            "READINESS_TIMEOUT": "60",
        })
        env.update({f"TF_VAR_{k}": v for k, v in EMULATOR_TF_VARS.items()})
        env.update(self.settings)
        if self.network is not None and script is not None:
            env.pop("LITELLM_BASE_URL", None)
            job_network, step_env = self.job_step(script)
            secret = SECRET_REF.match(step_env.get("LITELLM_BASE_URL", ""))
            if secret and secret.group(1) in self.settings:
                env["LITELLM_BASE_URL"] = self.network.url(network or job_network, self.settings[secret.group(1)])
        env.update(extra or {})
        return env

    def job_step(self, script: str) -> tuple[str, dict[str, str]]:
        """The network and `env:` of the one workflow step that runs scripts/ci/<script>."""
        steps = workflow_steps(self.repo / ".github" / "workflows").get(script, [])
        if not steps:
            return "internet", {}  # no workflow runs it: an operator's machine
        networks = {network for network, _, _ in steps}
        assert len(networks) == 1, f"scripts/ci/{script} runs in several networks: {steps}"
        return steps[0][0], steps[0][2]

    def tf_cli_config(self) -> Path:
        path = self.workdir / "terraform.rc"
        if not path.exists():
            subprocess.run([str(REPO / "terraform" / "scripts" / "tf-cli-config"), str(path)], check=True,
                           capture_output=True)
        return path

    def run(self, command: list[str], *, expect: tuple[int, ...] = (0,), env: dict[str, str] | None = None,
            timeout: float = 900, network: str | None = None) -> subprocess.CompletedProcess:
        """Run a repository script from the repository root; its output goes to logs/NN-name.log."""
        self._step += 1
        name = Path(command[0]).name
        log = self.logs / f"{self._step:02d}-{name}.log"
        started = time.monotonic()
        script = Path(command[0]).name if Path(command[0]).parent.name == "ci" else None
        proc = subprocess.run(command, cwd=self.repo, env=self.env(env, script, network), capture_output=True,
                              text=True, timeout=timeout, check=False)
        log.write_text(f"$ {' '.join(command)}\n# exit {proc.returncode} after {time.monotonic() - started:.1f} s\n"
                       f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
        if proc.returncode not in expect:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
            raise StepFailed(f"{' '.join(command)} exited {proc.returncode}, expected {expect} (log: {log}):\n{tail}")
        return proc

    def script(self, name: str, *args: str, **kw: Any) -> subprocess.CompletedProcess:
        return self.run([str(self.repo / name), *args], **kw)

    def terraform_output(self, root: str = "terraform/environments/production") -> dict[str, Any]:
        proc = self.run(["terraform", f"-chdir={root}", "output", "-json"])
        return {k: v["value"] for k, v in json.loads(proc.stdout).items()}

    # ------------------------------------------------------------------ the gateway, as ECS would run it
    def resolve_secret(self, value_from: str) -> str:
        """An ECS `valueFrom`: a secret ARN, optionally followed by :json-key:version-stage:version-id."""
        parts = value_from.split(":")
        arn, key = ":".join(parts[:7]), (parts[7] if len(parts) > 7 else "")
        value = self.aws("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
        return json.loads(value)[key] if key else value

    def task_definition_environment(self, family: str) -> tuple[dict[str, str], list[str]]:
        """The environment and command of a task definition's first container, secrets resolved."""
        td = self.aws("ecs").describe_task_definition(taskDefinition=family)["taskDefinition"]
        container = td["containerDefinitions"][0]
        env = {e["name"]: e["value"] for e in container.get("environment", [])}
        env.update({s["name"]: self.resolve_secret(s["valueFrom"]) for s in container.get("secrets", [])})
        return env, list(container.get("command", []))

    def start_gateway(self, family: str = "llm-gateway-gateway", bootstrap_family: str = "llm-gateway-db-bootstrap"):
        harness_dir = Path(os.environ.get("LITELLM_HARNESS_DIR") or REPO.parent / "shared" / "litellm-harness")
        sys.dont_write_bytecode = True  # the harness folder is read-only
        sys.path.insert(0, str(harness_dir))
        from harness import LiteLLMHarness

        env, command = self.task_definition_environment(family)
        bootstrap_env, bootstrap_command = self.task_definition_environment(bootstrap_family)
        # The db-bootstrap task runs `sh -c <script>`: the script exactly as Terraform rendered it.
        db_init = self.workdir / "db-bootstrap-from-task-definition.sh"
        db_init.write_text(bootstrap_command[0])
        # The harness owns the database endpoint; everything else in db-bootstrap's environment
        # (APP_USERNAME, APP_PASSWORD from the app secret) reaches db-bootstrap.sh unchanged.
        for owned in ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSSLMODE", "DATABASE_URL"):
            bootstrap_env.pop(owned, None)
            env.pop(owned, None)
        master_key = env.pop("LITELLM_MASTER_KEY")
        fake_port = free_port()
        fake_bedrock = f"http://127.0.0.1:{fake_port}"
        run_env = {**self.aws_env(), **bootstrap_env, **env,
                   "AWS_BEDROCK_RUNTIME_ENDPOINT": fake_bedrock, "BEDROCK_MANTLE_API_BASE": fake_bedrock,
                   "FAKE_BEDROCK_INPUT_TOKENS": "10", "FAKE_BEDROCK_OUTPUT_TOKENS": "5"}
        # The proxy reads its config from the S3 object named by LITELLM_CONFIG_BUCKET_NAME/_OBJECT_KEY;
        # the harness still wants a --config file, so it gets one with no model and no setting.
        placeholder = self.workdir / "placeholder-config.yaml"
        placeholder.write_text("model_list: []\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n")
        args = list(command)
        if "--port" in args:  # the harness chooses the port
            i = args.index("--port")
            del args[i:i + 2]
        self.gateway = LiteLLMHarness(
            self.workdir / "gateway", config=str(placeholder), master_key=master_key, timeout=600,
            fake_bedrock_port=fake_port, env=run_env, litellm_args=tuple(args),
            db_init=db_init, db_role=bootstrap_env["APP_USERNAME"])
        self.gateway.start()
        return self.gateway

    def roll_gateway(self, family: str = "llm-gateway-gateway") -> GatewayTask:
        """What the ECS service does once a deploy registers a new revision: a task of the latest revision
        starts beside the running one, on the same database, and takes over its traffic (the caller points
        the network's relay to the tasks at it). The image's runtime (the harness's LiteLLM, its Prisma
        engine, the database and the fake Bedrock) is the first task's own process environment; the
        revision's environment and secrets replace their part of it."""
        first = self.gateway.info
        runtime = dict(item.split("=", 1) for item in
                       Path(f"/proc/{first['proxy']['pid']}/environ").read_bytes().decode().split("\0") if "=" in item)
        env, command = self.task_definition_environment(family)
        env.pop("DATABASE_URL", None)  # the harness owns the database endpoint, as in start_gateway
        port = free_port()
        if "--port" in command:
            i = command.index("--port")
            del command[i:i + 2]
        workdir = self.workdir / f"gateway-task-{len(self.tasks) + 2}"
        workdir.mkdir()
        litellm = Path(first["cache_dir"]) / "venv" / "bin" / "litellm"
        task = GatewayTask([str(litellm), "--config", first["config"], "--host", "127.0.0.1", "--port", str(port),
                            *command], {**runtime, **env}, workdir)
        self.tasks.append(task)
        task.wait_ready()
        return task

    def close(self) -> None:
        for task in self.tasks:
            task.stop()
        if self.network is not None:
            self.network.close()
        if self.gateway is not None:
            self.gateway.stop()
        if self.emulator is not None and self.emulator.poll() is None:
            self.emulator.terminate()
            try:
                self.emulator.wait(10)
            except subprocess.TimeoutExpired:
                self.emulator.kill()


class GatewayTask:
    """One task of the gateway service beside the harness's first: the genuine proxy, started as ECS starts a
    task of a new revision."""

    def __init__(self, command: list[str], env: dict[str, str], workdir: Path):
        self.log = workdir / "proxy.log"
        self.address = ("127.0.0.1", int(command[command.index("--port") + 1]))
        self.base_url = "http://{}:{}".format(*self.address)
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(command, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self, timeout: float = 600) -> None:
        """Until /health/liveliness answers, as the container's health check asks."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StepFailed(f"the new gateway task exited ({self.proc.returncode}); see {self.log}")
            try:
                with socket.create_connection(self.address, timeout=2) as s:
                    s.sendall(b"GET /health/liveliness HTTP/1.0\r\n\r\n")
                    if s.recv(64).split(b" ")[1:2] == [b"200"]:
                        return
            except (OSError, IndexError):
                pass
            time.sleep(1)
        raise StepFailed(f"the new gateway task did not answer within {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        """ECS stops a task with SIGTERM to the container, then SIGKILL; the proxy's workers are its group."""
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
