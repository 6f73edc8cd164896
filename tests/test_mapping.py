"""The mapping table (policy.User / policy.Tier field declarations, reconciler/desired/mapping.py): one place
per field. A new user field is added to a copy of the code by one declaration, and to a copy of the
schema; nothing else is edited, and the field is validated, written to LiteLLM, compared, applied
and imported back (against the fake admin API)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.desired.policy import USER_ID

REPO = Path(__file__).resolve().parents[1]
ANCHOR = "    budget_exception: BudgetException | None = mapped(default=None, yaml=False)\n"
NEW_FIELD = '    department: str | None = mapped(metadata="department", default=None)\n'

SCRIPT = r'''
import datetime as dt, io, sys
from pathlib import Path

import reconciler
from fakelitellm import FakeLiteLLM
from reconciler.apply.executor import Executor
from reconciler.live.importer import user_yaml
from reconciler.live.keystore import FileStore
from reconciler.live.state import read_live
from reconciler.plan import PlanContext, build_plan
from reconciler.desired.validate import load_desired

code, root = Path(sys.argv[1]), Path(sys.argv[2])
assert Path(reconciler.__file__).is_relative_to(code), reconciler.__file__
today = dt.date(2026, 11, 26)
fake, store = FakeLiteLLM(), FileStore(root / "keys")


def plan():
    with fake.client() as client:
        live = read_live(client, store)
    return build_plan(load_desired(root, today=today), live, PlanContext(today=today, commit="c1"))


def apply():
    with fake.client() as client:
        results = Executor(client, store, commit="c1", out=io.StringIO()).execute(plan())
    assert {r.status for r in results} == {"ok"}, results


alice = root / "users" / "alice.yaml"
alice.write_text(alice.read_text() + "department: Research\n")
assert load_desired(root, today=today).users["alice"].department == "Research"
assert load_desired(root, today=today).users["bob"].department is None  # optional, as the schema says
first = plan()
(create,) = [a for a in first.actions if a.target == "user:alice"]
assert ("department", None, "Research") in create.changes, create.changes
apply()
assert fake.users["alice"]["metadata"]["department"] == "Research"
assert plan().actions == []  # read back from LiteLLM and compared: in sync

alice.write_text(alice.read_text().replace("department: Research", "department: Sales"))
(update,) = plan().actions
assert update.changes == [("department", "Research", "Sales")], update.changes
assert update.steps[0].op == "user_update" and update.steps[0].args["metadata"]["department"] == "Sales"
apply()
assert plan().actions == []

with fake.client() as client:
    imported = user_yaml(read_live(client, None), "alice", today)
assert "\ndepartment: Sales\n" in imported, imported
print("ok")
'''


@pytest.mark.process
def test_a_new_user_field_touches_only_the_schema_the_table_and_tests(tmp_path):
    code = tmp_path / "code"
    shutil.copytree(REPO / "reconciler", code / "reconciler", ignore=shutil.ignore_patterns("__pycache__"))
    policy = code / "reconciler" / "desired" / "policy.py"
    text = policy.read_text()
    assert text.count(ANCHOR) == 1
    policy.write_text(text.replace(ANCHOR, ANCHOR + NEW_FIELD))  # the table: one declaration

    root = tmp_path / "repo"
    for name in ("policies", "schemas", "users", "gateway"):
        shutil.copytree(REPO / name, root / name)
    schema_path = root / "schemas" / "user.schema.json"
    schema = json.loads(schema_path.read_text())
    schema["properties"]["department"] = {"description": "Where the user works.", "type": "string", "maxLength": 64}
    schema_path.write_text(json.dumps(schema, indent=2))  # the schema

    changed = [p.relative_to(code).as_posix() for p in sorted((code / "reconciler").rglob("*.py"))
               if p.read_bytes() != (REPO / p.relative_to(code)).read_bytes()]
    assert changed == ["reconciler/desired/policy.py"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(code), str(REPO / "tests")])}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(code), str(root)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr


def test_the_user_id_pattern_is_the_schemas():
    """history, import and the schema accept exactly the same ids."""
    schema = json.loads((REPO / "schemas" / "user.schema.json").read_text())["properties"]["id"]
    assert schema["pattern"] == USER_ID.pattern + "(?!\n)"  # the schema also refuses a trailing newline
    for good in ("alice", "ann-marie", "j.doe_2"):
        assert USER_ID.match(good) and re.search(schema["pattern"], good)
    for bad in ("Alice", "-ann", "a..b", "../etc/passwd", "ann-"):
        assert not USER_ID.match(bad) and not re.search(schema["pattern"], bad)
