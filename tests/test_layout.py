"""reconciler/'s folders follow the data path (issue 20): desired -> live -> plan -> apply, side jobs beside them,
the CLI wiring on top. The import-cycle check is test_plan_unit.py's (reconciler has 0 import cycles); these
tests hold the folders' rules, read from the source with ast (no external tools)."""

from __future__ import annotations

import ast
from pathlib import Path

from test_plan_unit import _imports

import reconciler

ROOT = Path(reconciler.__file__).parent
CORE = {"desired", "live", "plan", "apply"}
SIDE_JOBS = {"notifications", "finops", "selfservice", "history", "directory"}
# The CLI wiring and what every stage shares (errors, the git module, the lazy importer), plus the demo.
TOP = {"__init__", "__main__", "cli", "commands", "options", "runctx", "applycmd", "errors", "git", "lazy",
       "collector", "demo", "localgateway"}


def _modules() -> dict[str, Path]:
    return {".".join(p.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__"): p
            for p in ROOT.rglob("*.py")}


def _package(module: str) -> str | None:
    """The stage or side job a module belongs to (`reconciler.live.state` -> `live`); None for the top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (ROOT / parts[1]).is_dir()) else None


def test_the_top_holds_only_the_cli_wiring_and_every_folder_is_a_stage_or_a_side_job():
    assert {p.stem for p in ROOT.glob("*.py")} == TOP
    assert {p.name for p in ROOT.iterdir() if p.is_dir() and p.name != "__pycache__"} == CORE | SIDE_JOBS


def test_the_core_stages_never_import_a_side_job():
    offences = [(m, i) for m, p in _modules().items() if _package(m) in CORE
                for i in _imports(p) if i.startswith("reconciler.") and _package(i) in SIDE_JOBS]
    assert offences == []


def test_a_side_job_imports_no_private_name_from_another_package():
    """A side job reaches the core (and other side jobs) only through public names: no `from x import _y`
    across packages, the way scope.py and grants.py once took history.py's `_git`."""
    offences = []
    for module, path in _modules().items():
        own = _package(module)
        if own not in SIDE_JOBS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith("reconciler"):
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    private = alias.name.startswith("_") and not alias.name.startswith("__")
                    if private and _package(node.module) != own and _package(target) != own:
                        offences.append((module, target))
    assert offences == []
