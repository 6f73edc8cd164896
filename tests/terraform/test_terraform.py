"""Offline checks of terraform/: fmt, init+validate, terraform test (mock AWS), checkov.

Nothing here talks to AWS. The hashicorp/aws provider comes from a filesystem
mirror ($TF_PROVIDER_MIRROR, else discovered by terraform/scripts/tf-cli-config).
Tests skip only when the terraform binary itself is missing.

`terraform validate` runs on the roots and the module examples only: validating a root validates
every module it calls, and each module is called by a root or an example
(test_every_module_is_validated_through_a_root_or_an_example). Modules with tests run `terraform test`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, TERRAFORM, TF_ROOT, InitialisedTree, rel, run_tf

MODULES = sorted(p for p in (TF_ROOT / "modules").iterdir() if (p / "main.tf").is_file())
ROOTS = [*sorted(p for p in (TF_ROOT / "environments").iterdir() if (p / "main.tf").is_file()), TF_ROOT / "bootstrap"]
# The example roots of reusable modules (terraform/modules/*/examples/*): their READMEs show them.
EXAMPLES = sorted(p.parent for p in (TF_ROOT / "modules").glob("*/examples/*/main.tf"))
VALIDATE_DIRS = ROOTS + EXAMPLES
TEST_DIRS = [d for d in MODULES + ROOTS + EXAMPLES if list((d / "tests").glob("*.tftest.hcl"))]
SKIPS_DOC = REPO / "docs" / "checkov-skips.md"

pytestmark = pytest.mark.skipif(TERRAFORM is None, reason="terraform binary not found on PATH")

SKIP_RE = re.compile(r"#\s*checkov:skip=(CKV2?_[A-Z0-9_]+):(.+)$")
MODULE_SOURCE_RE = re.compile(r'^\s*source\s*=\s*"([^"]+)"', flags=re.M)


def _rel(path: Path) -> str:
    return rel(path)


def test_fmt(tf_env: dict[str, str]) -> None:
    res = run_tf(["fmt", "-check", "-recursive", "-diff", "-no-color", str(TF_ROOT)], REPO, tf_env)
    assert res.returncode == 0, f"terraform fmt found unformatted files:\n{res.stdout}\n{res.stderr}"


def _called_modules(directory: Path) -> set[Path]:
    """Local modules a configuration calls, followed through the modules they call."""
    found: set[Path] = set()
    todo = [directory]
    while todo:
        current = todo.pop()
        for tf in current.glob("*.tf"):
            for source in MODULE_SOURCE_RE.findall(tf.read_text()):
                if source.startswith("."):
                    module = (current / source).resolve()
                    if module not in found:
                        found.add(module)
                        todo.append(module)
    return found


def test_every_module_is_validated_through_a_root_or_an_example() -> None:
    reached = set().union(*(_called_modules(d) for d in VALIDATE_DIRS))
    missing = [m.name for m in MODULES if m.resolve() not in reached]
    assert not missing, f"no root or example calls {missing}: add an example (examples/<name>/main.tf)"


VARIABLE_RE = re.compile(r'^variable "([^"]+)" \{\n(.*?)^\}', flags=re.M | re.S)


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_modules_leave_names_and_keys_to_the_roots(module: Path) -> None:
    """The roots validate `name` and the KMS key comes from module "kms": no module re-checks either."""
    for name, body in VARIABLE_RE.findall((module / "variables.tf").read_text()):
        if name in ("name", "kms_key_arn"):
            assert "validation {" not in body, f"{module.name}: {name} is validated at the roots, not again here"


@pytest.mark.parametrize("directory", VALIDATE_DIRS, ids=_rel)
def test_validate(directory: Path, tf_tree: InitialisedTree) -> None:
    res = run_tf(["validate", "-no-color"], tf_tree.init(directory), tf_tree.env)
    assert res.returncode == 0, f"terraform validate failed in {_rel(directory)}:\n{res.stdout}\n{res.stderr}"


@pytest.mark.parametrize("directory", TEST_DIRS, ids=_rel)
def test_terraform_test(directory: Path, tf_tree: InitialisedTree) -> None:
    res = run_tf(["test", "-no-color"], tf_tree.init(directory), tf_tree.env, timeout=600)
    assert res.returncode == 0, f"terraform test failed in {_rel(directory)}:\n{res.stdout}\n{res.stderr}"
    assert re.search(r"Success! \d+ passed, 0 failed", res.stdout), res.stdout


def test_required_test_coverage_exists() -> None:
    """The issue requires these offline assertions; make sure nobody deletes them."""
    text = "\n".join(p.read_text() for d in TEST_DIRS for p in (d / "tests").glob("*.tftest.hcl"))
    for needle in (
        "alb_https",  # SG chain
        "db_from_tasks",
        "publicly_accessible == false",
        "task_bedrock.policy",  # decoded invoke policy
        "FARGATE_SPOT",
        "valueFrom",
        "expect_failures = [var.gateway_max_tasks]",  # connection budget
        "job_workflow_ref",  # OIDC trust names the workflow file
        "DenyChangingTheTerraformRoles",  # the apply role cannot widen its own trust
        "noncurrent_version_expiration",  # state versions kept
    ):
        assert needle in text, f"terraform tests no longer cover {needle!r}"


def _checkov_binary() -> str | None:
    candidate = Path(sys.executable).parent / "checkov"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which("checkov")


RESOURCE_RE = re.compile(r'^resource\s+"([^"]+)"\s+"([^"]+)"')


def _inline_skips() -> list[tuple[str, str, str, str]]:
    """(file, check id, resource address, justification) for every inline skip."""
    found = []
    for path in sorted(TF_ROOT.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        resource = ""
        for line in path.read_text().splitlines():
            r = RESOURCE_RE.match(line)
            if r:
                resource = f"{r.group(1)}.{r.group(2)}"
            m = SKIP_RE.search(line)
            if m:
                found.append((_rel(path), m.group(1), resource, m.group(2).strip()))
    return found


def test_checkov_zero_failures(tmp_path: Path) -> None:
    checkov = _checkov_binary()
    if checkov is None:
        pytest.fail("checkov not found next to the Python interpreter or on PATH (pip install checkov)")
    res = subprocess.run(
        [
            checkov,
            "-d",
            str(TF_ROOT),
            "--framework",
            "terraform",
            "--quiet",
            "--compact",
            "--skip-path",
            r"\.terraform",
            "--skip-path",
            r"\.tftest\.hcl$",
            "--skip-download",
            "-o",
            "json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        data = json.loads(res.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov produced no JSON (rc={res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    reports = data if isinstance(data, list) else [data]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    assert not failed, "checkov failures:\n" + "\n".join(failed)
    parse_errors = sum(r.get("summary", {}).get("parsing_errors", 0) for r in reports)
    assert parse_errors == 0, f"checkov could not parse {parse_errors} file(s); rerun without -o json to see which"
    assert sum(r.get("summary", {}).get("passed", 0) for r in reports) > 0, "checkov scanned nothing"
    # Every skip checkov applied must be an inline, justified one.
    skipped = {(c["check_id"]) for r in reports for c in r.get("results", {}).get("skipped_checks", [])}
    inline_ids = {check for _, check, _, _ in _inline_skips()}
    assert skipped <= inline_ids, f"skips not declared inline: {sorted(skipped - inline_ids)}"


def test_checkov_skips_are_justified_and_documented() -> None:
    skips = _inline_skips()
    assert skips, "expected the documented inline checkov skips"
    for path, check, resource, reason in skips:
        assert resource, f"{path}: {check} skip is not inside a resource block"
        assert len(reason) >= 15, f"{path}: {check} needs a real one-line justification"
    doc = SKIPS_DOC.read_text()
    doc_rows = set(re.findall(r"^\|\s*`(CKV2?_[A-Z0-9_]+)`\s*\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|", doc, flags=re.M))
    code_rows = {(check, path, resource) for path, check, resource, _ in skips}
    assert doc_rows == code_rows, (
        "docs/checkov-skips.md is out of sync with inline skips.\n"
        f"missing from docs: {sorted(code_rows - doc_rows)}\n"
        f"stale in docs: {sorted(doc_rows - code_rows)}"
    )
