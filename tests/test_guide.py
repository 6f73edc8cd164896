"""docs/using-the-gateway.md, executed: every fenced block of the guide runs, in order, as the
employee `alice`, against the embedded gateway (genuine LiteLLM, fake Bedrock) and moto.

The only changes made to a block: the gateway's address (https://llm-gateway.example.com becomes the
embedded gateway's URL), and `pipx install '<the repository>#subdirectory=clients/gatewayctl-me'`, which
becomes that package installed alone into a fresh virtualenv from this checkout (tests/helpers.py,
install_gatewayctl_me) and put on PATH. Shell blocks share one environment, as in one terminal; the JSON block
becomes ~/.claude/settings.json for the genuine Claude Code (tools/claude-code, installed by `make test`);
Python blocks run with the project's interpreter; the YAML block (Continue's config) is loaded and
its model entry used exactly as Continue's OpenAI provider does; the TOML block becomes
~/.codex/config.toml for the genuine Codex CLI (tools/codex-cli); Cursor's settings (the text block)
are used for the calls Cursor makes (the model list, a streamed chat) with the OpenAI SDK; and the
PowerShell blocks, which cannot run here (no PowerShell), are run from Python: a block of `$env:`
lines and `aws`/`gatewayctl` calls line by line (run_powershell: each call with the same arguments,
`ConvertFrom-Json` as json.loads), a block that calls the gateway replayed (replay_powershell: its AWS
CLI command, then each Invoke-RestMethod with the same method, URL, header and body). The guide's statements about
Claude Code at its limits and after a rotation have their own tests below.

The fake Bedrock bills 100,000 input and 50,000 output tokens for a prompt without a usage marker,
so the guide's workspace gives Drafting room for the walk-through (budget $100, 1,000 requests a
minute); the limit tests use the real Drafting tier."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml
from helpers import chat, clean_slate, employee_credentials, install_gatewayctl_me, secret_key, write_user

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
GUIDE = REPO / "docs" / "using-the-gateway.md"
PLACEHOLDER_URL = "https://llm-gateway.example.com"
FAKE_TEXT = "hello from fake bedrock"
CLAUDE_WRAPPER = REPO / "tools" / "claude-code" / "node_modules" / "@anthropic-ai" / "claude-code" / "cli-wrapper.cjs"
CODEX = REPO / "tools" / "codex-cli" / "node_modules" / "@openai" / "codex" / "bin" / "codex.js"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
PIPX = re.compile(r"^pipx install '[^']*#subdirectory=clients/gatewayctl-me'$", re.M)


def guide_blocks() -> list[tuple[str, str, int]]:
    text = GUIDE.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), text[:m.start()].count("\n") + 1) for m in BLOCK.finditer(text)]


def claude_settings(url: str, user: str) -> dict:
    (_, block, _), = [b for b in guide_blocks() if b[0] == "json"]
    settings = json.loads(block.replace(PLACEHOLDER_URL, url))
    settings["apiKeyHelper"] = settings["apiKeyHelper"].replace("--user alice", f"--user {user}")
    return settings


@pytest.fixture
def clean(admin, aws_env):
    clean_slate(admin)


def employee_env(aws_env: dict, email: str, user_id: str, home: Path, bin_dir: Path) -> dict:
    """A fresh terminal of an employee signed in to AWS: assumed-role credentials whose session
    name is their email and whose session tag is their gateway id; nothing else inherited."""
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(home), "LANG": "C.UTF-8",
            "AWS_ENDPOINT_URL": aws_env["AWS_ENDPOINT_URL"], "AWS_REGION": aws_env["AWS_REGION"],
            **employee_credentials(email, user_id)}


@pytest.fixture(scope="module")
def gatewayctl_me(tmp_path_factory) -> Path:
    """What `pipx install ...#subdirectory=clients/gatewayctl-me` gives: a venv's bin holding that alone."""
    return install_gatewayctl_me(tmp_path_factory.mktemp("gatewayctl-me") / "venv")


def run_powershell(code: str, env: dict, cwd: Path) -> dict:
    """The guide's PowerShell lines, each as PowerShell would run it: `$env:NAME = "value"`, `$env:NAME =
    (COMMAND)` and `$env:NAME = (COMMAND | ConvertFrom-Json).field`, or a COMMAND alone, where COMMAND is
    an `aws` or `gatewayctl` call (PowerShell passes its quoted arguments as a POSIX shell does here).
    Returns the environment it leaves; anything else fails the test."""
    import shlex

    env = dict(env)
    for line in filter(None, (ln.strip() for ln in code.splitlines())):
        m = re.fullmatch(r'\$env:(\w+) = (?:"([^"]*)"|\((.+?)( \| ConvertFrom-Json\)\.(\w+)|\)))', line)
        command = (m[3] if m else line)
        if m and m[2] is not None:
            env[m[1]] = m[2]
            continue
        argv = shlex.split(command)
        assert argv[0] in ("aws", "gatewayctl"), f"a PowerShell line the test cannot run: {line}"
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, f"{line}\n{proc.stdout}{proc.stderr}"
        if m:
            env[m[1]] = json.loads(proc.stdout)[m[5]] if m[4] else proc.stdout.strip()
        else:
            env["_last_output"] = proc.stdout
    return env


@pytest.fixture
def terminal(tmp_path: Path) -> tuple[Path, Path]:
    """(home, bin dir with `claude` and `codex`): the genuine Claude Code and Codex CLI from tools/."""
    for tool, script in (("claude", CLAUDE_WRAPPER), ("codex", CODEX)):
        if not script.is_file():
            pytest.fail(f"{tool} is not installed at {script.parent}; run `make test` (it installs tools/)")
    home, bin_dir = tmp_path / "home", tmp_path / "bin"
    (home / ".claude").mkdir(parents=True)
    (home / ".codex").mkdir()
    bin_dir.mkdir()
    for tool, script in (("claude", CLAUDE_WRAPPER), ("codex", CODEX)):
        shim = bin_dir / tool
        shim.write_text(f"#!/bin/sh\nexec node {script} \"$@\"\n")
        shim.chmod(0o755)
    return home, bin_dir


def run_sh(code: str, env: dict, cwd: Path, state: Path, timeout: float = 240) -> tuple[subprocess.CompletedProcess,
                                                                                          dict]:
    """Run a shell block like a terminal would, and return the environment it leaves behind."""
    script = f"set -euo pipefail\n{code}\nenv -0 > {state}\n"
    proc = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    after = dict(env)
    if proc.returncode == 0:
        after = dict(item.split("=", 1) for item in state.read_text().split("\0") if "=" in item)
    return proc, after


def test_every_block_of_the_guide_runs_as_written(clean, gatewayctl, workspace, gateway, aws_env, terminal, tmp_path,
                                                  gatewayctl_me):
    tiers = workspace / "policies" / "tiers.yaml"
    tiers.write_text(tiers.read_text().replace("monthly_budget_usd: 2.00", "monthly_budget_usd: 100.00")
                     .replace("rpm_limit: 10\n", "rpm_limit: 1000\n"))
    gatewayctl("apply", "--confirm", check=True)  # what the deploy job does after the merge
    gatewayctl("publish-usage", "--confirm", check=True)  # and the nightly job after it
    home, bin_dir = terminal
    env = employee_env(aws_env, "alice@example.com", "alice", home, bin_dir)
    state = tmp_path / "env"
    key = secret_key("alice")
    blocks = guide_blocks()
    runnable = {"sh", "python", "json", "yaml", "toml", "text", "powershell"}
    assert {lang for lang, _, _ in blocks} <= runnable, "a block the test cannot run"
    ran, skipped = 0, []
    for lang, code, line in blocks:
        code = code.replace(PLACEHOLDER_URL, gateway.base_url)
        where = f"{GUIDE.name}:{line}"
        code = PIPX.sub(f'export PATH="{gatewayctl_me}:$PATH"', code)
        if lang == "powershell" and "Invoke-RestMethod" not in code:
            key_before = env.pop("LLM_GATEWAY_KEY", None)
            env = run_powershell(code, env, workspace)
            assert env["LLM_GATEWAY_KEY"] == key == key_before, f"{where} did not get alice's key"
            assert "gatewayctl:me:spend-usd\t0.000000" in env.pop("_last_output"), f"{where}: no month"
        elif lang == "sh":
            if re.search(r"\baws\b", code) and not (shutil.which("aws") and shutil.which("jq")):
                skipped.append(f"{where} (needs the aws CLI and jq)")
                continue
            proc, env = run_sh(code, env, workspace, state)
            output = proc.stdout + proc.stderr
            assert proc.returncode == 0, f"{where} failed ({proc.returncode}):\n{code}\n{output}"
            assert "Traceback" not in output, f"{where}:\n{output}"
            if "LLM_GATEWAY_KEY=" in code:
                assert env["LLM_GATEWAY_KEY"] == key, f"{where} did not get alice's key"
                assert key not in output, f"{where} printed the key"
            if "gatewayctl me" in code:
                assert "gateway user:  alice" in proc.stdout and "tier:          Drafting (model model-cheap)" \
                    in proc.stdout and "of your $100.00 budget (0%)" in proc.stdout, proc.stdout
            if "describe-secret" in code:
                assert "gatewayctl:me:budget-usd\t100.00" in proc.stdout, proc.stdout
            if "curl" in code or "claude" in code or "codex" in code:
                streamed = "".join(re.findall(r'"text_delta", "text": "([^"]*)"', proc.stdout))
                assert FAKE_TEXT in proc.stdout or streamed == FAKE_TEXT, f"{where}: no answer\n{output}"
            if "claude" in code and gateway.harness is not None:
                assert gateway.harness.fake_bedrock_requests()[-1]["stream"], "Claude Code did not stream"
        elif lang == "json":
            settings = json.loads(code)
            (home / ".claude" / "settings.json").write_text(json.dumps(settings))
            assert settings["env"]["ANTHROPIC_BASE_URL"] == gateway.base_url
            models = {v for k, v in settings["env"].items() if k.endswith("_MODEL")}
            assert models == {"model-cheap"}, "every Claude Code model setting must name the tier's model"
        elif lang == "python":
            script = tmp_path / f"block_{line}.py"
            script.write_text(code)
            proc = subprocess.run([sys.executable, str(script)], cwd=workspace, env=env, capture_output=True,
                                  text=True, timeout=120, check=False)
            assert proc.returncode == 0, f"{where} failed:\n{code}\n{proc.stdout}{proc.stderr}"
            assert FAKE_TEXT in proc.stdout and key not in proc.stdout
            if "models.list" in code:
                assert "['model-cheap']" in proc.stdout
            if "count_tokens" in code:
                assert re.search(r"^\d+ input tokens$", proc.stdout, re.M)
        elif lang == "yaml":  # Continue: ~/.continue/config.yaml, secrets from ~/.continue/.env
            import openai

            config = yaml.safe_load(code)
            (model,) = config["models"]
            assert model["provider"] == "openai" and model["apiBase"] == gateway.base_url + "/v1"
            secret = re.fullmatch(r"\$\{\{ secrets\.(\w+) \}\}", model["apiKey"]).group(1)
            client = openai.OpenAI(base_url=model["apiBase"], api_key=env[secret], max_retries=0)
            stream = client.chat.completions.create(model=model["model"], stream=True,
                                                    messages=[{"role": "user", "content": "Say hello"}])
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == FAKE_TEXT
        elif lang == "toml":  # Codex CLI: ~/.codex/config.toml, the key from the variable named in env_key
            config = tomllib.loads(code)
            provider = config["model_providers"][config["model_provider"]]
            assert provider["base_url"] == gateway.base_url + "/v1" and provider["env_key"] in env
            assert config["model"] == "model-cheap" and provider["wire_api"] == "responses"
            (home / ".codex" / "config.toml").write_text(code)
        elif lang == "text":
            cursor_makes_its_calls(code, env)
        elif lang == "powershell":
            if not shutil.which("aws"):
                skipped.append(f"{where} (needs the aws CLI)")
                continue
            replay_powershell(code, env)
        ran += 1
    assert ran + len(skipped) == len(blocks) >= 15
    if skipped:
        pytest.skip(f"ran {ran} of {len(blocks)} blocks; not run: {', '.join(skipped)}")


def cursor_makes_its_calls(settings: str, env: dict) -> None:
    """Cursor with these settings: Verify lists the key's models, then chat streams from the model."""
    import openai

    fields = dict(line.split(": ", 1) for line in settings.splitlines() if ": " in line)
    assert settings.startswith("Cursor Settings") and "LLM_GATEWAY_KEY" in fields["OpenAI API Key"]
    client = openai.OpenAI(base_url=fields["Override OpenAI Base URL"], api_key=env["LLM_GATEWAY_KEY"],
                           max_retries=0)
    assert [m.id for m in client.models.list()] == [fields["Add model"]]
    stream = client.chat.completions.create(model=fields["Add model"], stream=True,
                                            stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "Say hello"}])
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == FAKE_TEXT


def replay_powershell(code: str, env: dict) -> None:
    """The PowerShell block's calls, made from Python: `$env:` assignments, the AWS CLI command whose
    JSON answer `ConvertFrom-Json` reads, here-string bodies, and each Invoke-RestMethod."""
    import httpx

    code = code.replace("`\n", " ")  # PowerShell's line continuation
    variables: dict[str, object] = {}
    ps_env = {k: v for k, v in env.items() if k != "LLM_GATEWAY_KEY"}  # the block must read the key itself

    def expand(text: str) -> str:
        return re.sub(r"\$env:(\w+)", lambda m: ps_env[m[1]], text)

    here_strings = dict(re.findall(r'^\$(\w+) = @"\n(.*?)\n"@$', code, re.M | re.S))  # expanded where used
    code = re.sub(r'^\$\w+ = @"\n.*?\n"@$', "", code, flags=re.M | re.S)
    for name, value in re.findall(r"^\$(\w+(?::\w+)?) = (.+)$", code, re.M):
        if (m := re.fullmatch(r"\((aws .+) \| ConvertFrom-Json\)\.(\w+)", value)):
            proc = subprocess.run(m[1].split(), env=env, capture_output=True, text=True, timeout=60, check=True)
            ps_env[name.removeprefix("env:")] = json.loads(proc.stdout)[m[2]]
        elif (m := re.fullmatch(r'"([^"]*)"', value)):
            ps_env[name.removeprefix("env:")] = expand(m[1])
        elif (m := re.fullmatch(r'Invoke-RestMethod -Method (\w+) -Uri "([^"]+)" +-Headers @\{ (\w+) = "([^"]+)" \} '
                                r'-ContentType "([^"]+)" -Body \$(\w+)', value)):
            response = httpx.request(m[1], expand(m[2]), headers={m[3]: expand(m[4]), "Content-Type": m[5]},
                                     content=expand(here_strings[m[6]]), timeout=60, trust_env=False)
            assert response.status_code == 200, response.text
            variables[name] = response.json()
        else:
            pytest.fail(f"a PowerShell statement the replay does not know: ${name} = {value}")
    assert ps_env["LLM_GATEWAY_KEY"] == env["LLM_GATEWAY_KEY"], "the block did not read the key"
    (output,) = re.findall(r"^\$(\w+)((?:\.\w+|\[\d+\])+)$", code, re.M)  # the line that prints the answer
    value = variables[output[0]]
    for step in re.findall(r"\.(\w+)|\[(\d+)\]", output[1]):
        value = value[step[0]] if step[0] else value[int(step[1])]
    assert value == FAKE_TEXT


def claude(home: Path, env: dict, cwd: Path, *extra_env: tuple[str, str], timeout: float = 240):
    full = {**env, **dict(extra_env)}
    return subprocess.run(["claude", "-p", "Say hello [[usage in=10 out=5]]"], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=timeout, check=False)


def claude_user(gatewayctl, workspace, gateway, aws_env, terminal, tier: str = "drafting",
                apply_args: tuple[str, ...] = ()) -> tuple[str, dict, Path]:
    for p in (workspace / "users").glob("*.yaml"):
        p.unlink()
    uid = f"cc{secrets.token_hex(3)}"  # LiteLLM's counters outlive a deleted user: a fresh id each run
    write_user(workspace, uid, tier)
    gatewayctl("apply", "--confirm", *apply_args, check=True)
    home, bin_dir = terminal
    (workspace / ".venv").symlink_to(REPO / ".venv")
    (home / ".claude" / "settings.json").write_text(json.dumps(claude_settings(gateway.base_url, uid)))
    env = employee_env(aws_env, f"{uid}@example.com", uid, home, bin_dir)
    env["PATH"] = f"{workspace / '.venv' / 'bin'}:{env['PATH']}"
    return uid, env, home


def test_claude_code_stops_at_once_over_budget(clean, gatewayctl, workspace, gateway, aws_env, terminal):
    uid, env, home = claude_user(gatewayctl, workspace, gateway, aws_env, terminal)
    key = secret_key(uid)
    assert chat(gateway.base_url, key, "model-cheap", "spend [[usage in=2000000 out=0]]").status_code == 200
    deadline = dt.datetime.now() + dt.timedelta(seconds=20)
    while chat(gateway.base_url, key, "model-cheap").status_code != 422:
        assert dt.datetime.now() < deadline, "the budget was never enforced"
        time.sleep(1)
    proc = claude(home, env, workspace)
    assert proc.returncode == 1
    assert "API Error: 422 Budget has been exceeded!" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_claude_code_at_the_rate_limit_fails_without_retries_and_waits_with_them(clean, gatewayctl, workspace,
                                                                                gateway, aws_env, terminal):
    uid, env, home = claude_user(gatewayctl, workspace, gateway, aws_env, terminal)
    key = secret_key(uid)
    assert [chat(gateway.base_url, key, "model-cheap").status_code for _ in range(10)] == [200] * 10
    proc = claude(home, env, workspace, ("CLAUDE_CODE_MAX_RETRIES", "0"))
    assert proc.returncode == 1, proc.stdout
    assert "API Error: Request rejected (429) · Rate limit exceeded for team_member" in proc.stdout + proc.stderr
    started = dt.datetime.now()
    proc = claude(home, env, workspace)  # default retries: it waits out the minute
    assert proc.returncode == 0 and FAKE_TEXT in proc.stdout, proc.stdout + proc.stderr
    assert (dt.datetime.now() - started).total_seconds() > 5


def test_a_new_claude_code_session_uses_the_rotated_key(day, clean, gatewayctl, workspace, gateway, aws_env, terminal):
    before = day(-100)
    uid, env, home = claude_user(gatewayctl, workspace, gateway, aws_env, terminal,
                                 apply_args=("--today", before))
    old = secret_key(uid)
    assert FAKE_TEXT in claude(home, env, workspace).stdout
    # Rotated "8 days ago" with a 7-day window: LiteLLM already refuses the old key.
    gatewayctl("rotate", "--confirm", "--today", day(-8), check=True)
    deadline = dt.datetime.now() + dt.timedelta(seconds=15)
    while chat(gateway.base_url, old, "model-cheap").status_code != 401:  # each call counts against 10 RPM
        assert dt.datetime.now() < deadline, "the old key still works"
        time.sleep(1)
    proc = claude(home, env, workspace, ("CLAUDE_CODE_MAX_RETRIES", "0"))  # no retry hides a stale key
    assert proc.returncode == 0 and FAKE_TEXT in proc.stdout, proc.stdout + proc.stderr
