"""Shell, SQL and path metacharacters in ids, names and emails.

Ids and emails are closed forms: the schema rejects every metacharacter, and the test names
the exact rule and line. Names are free text (apostrophes are real names): they must reach
LiteLLM byte for byte through JSON, read back verbatim via /user/info, leave no perpetual diff
in `plan`, and leave the proxy working.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from helpers import chat, reset_gateway, secret_key

from reconciler.desired import validate

TODAY = dt.date(2026, 1, 15)
TEMPLATE = """\
id: {id}
name: {name}
email: {email}
tier: {tier}
owner: approver@example.com
cost_center: CC-2001
justification: Metacharacter test user for the reconciler suite.
"""
LINE = {"id": 1, "name": 2, "email": 3}

HOSTILE = [
    "; rm -rf /", "' OR 1=1 --", "../../etc/passwd", "$(id)", "`id`", "a\x00b", "a\nb", "a\rb", "a\tb",
    "x\u202eexe.txt", "j\u00f6rg", "\u5c71\u7530", "a b", "a|b", "a&&b", "a>b", "%00", "a/b", "a\\b", "*",
]


def yq(value: str) -> str:
    """A YAML double-quoted scalar: control characters escaped, everything else verbatim."""
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ch in "\u2028\u2029":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def write(root: Path, stem: str, **fields) -> Path:
    values = {"id": stem, "name": "Meta Char", "email": f"{stem}@example.com", "tier": "drafting", **fields}
    path = root / "users" / f"{stem}.yaml"
    path.write_text(TEMPLATE.format(**{k: yq(v) for k, v in values.items()}), encoding="utf-8")
    return path


def only_user(root: Path, stem: str, **fields):
    for p in (root / "users").glob("*.yaml"):
        p.unlink()
    write(root, stem, **fields)
    return validate.check(root, today=TODAY)


@pytest.mark.parametrize("bad", HOSTILE)
def test_metacharacters_in_id_are_rejected_by_the_id_pattern(workspace, bad):
    diags, state = only_user(workspace, "meta", id=bad)
    assert state is None
    rules = {(d.path, d.line, d.rule) for d in diags}
    assert ("users/meta.yaml", LINE["id"], "schema/pattern") in rules, diags


@pytest.mark.parametrize("bad", ["alice\n", "alice\r\n"])
def test_id_with_trailing_newline_is_rejected(workspace, bad):
    # JSON Schema `pattern` is an unanchored search where Python's `$` also matches before a
    # final "\n", so "alice\n" slips past the id pattern; the file-name rule still stops it.
    diags, state = only_user(workspace, "alice", id=bad)
    assert state is None
    assert {d.rule for d in diags} & {"schema/pattern", "users/id-matches-file"}, diags


def test_file_name_with_metacharacters_is_rejected(workspace):
    for p in (workspace / "users").glob("*.yaml"):
        p.unlink()
    (workspace / "users" / "x;rm -rf .yaml").write_text(TEMPLATE.format(
        id=json.dumps("x;rm -rf "), name='"N"', email='"x@example.com"', tier="drafting"))
    diags, state = validate.check(workspace, today=TODAY)
    assert state is None
    assert any(d.path == "users/x;rm -rf .yaml" and d.rule == "schema/pattern" for d in diags), diags


@pytest.mark.parametrize("bad", [f"a{h}b@example.com" for h in HOSTILE if h != "%00"] + [
    "o'brien@example.com", "x@example.com; rm -rf /", "$(id)@example.com", "`id`@example.com",
    "x@example.com' OR 1=1 --", "../../etc/passwd@example.com", "x@ex\u00e4mple.com", "x@example.com\x00"])
@pytest.mark.parametrize("field", ["email", "owner"])
def test_metacharacters_in_emails_are_rejected_by_the_email_pattern(workspace, bad, field):
    if field == "owner":
        diags, state = only_user(workspace, "meta")
        text = (workspace / "users" / "meta.yaml").read_text().replace(
            "owner: approver@example.com", f"owner: {yq(bad)}")
        (workspace / "users" / "meta.yaml").write_text(text)
        diags, state = validate.check(workspace, today=TODAY)
        line = 5
    else:
        diags, state = only_user(workspace, "meta", email=bad)
        line = LINE["email"]
    assert state is None
    assert ("users/meta.yaml", line, "schema/pattern") in {(d.path, d.line, d.rule) for d in diags}, diags


@pytest.mark.parametrize("field,value", [("email", "meta@example.com\n"), ("cost_center", "CC-2001\n")])
def test_trailing_newline_in_email_or_cost_center_is_rejected(workspace, field, value):
    only_user(workspace, "meta")
    path = workspace / "users" / "meta.yaml"
    lines = path.read_text().splitlines(keepends=True)
    lines = [f"{field}: {yq(value)}\n" if ln.startswith(f"{field}:") else ln for ln in lines]
    path.write_text("".join(lines))
    _diags, state = validate.check(workspace, today=TODAY)
    assert state is None, "accepted"


@pytest.mark.parametrize("bad", ["a\x00b", "a\nb", "a\x1bb", "a\x7fb", "a\tb"])
def test_control_characters_in_names_are_rejected(workspace, bad):
    diags, state = only_user(workspace, "meta", name=bad)
    assert state is None
    assert ("users/meta.yaml", LINE["name"], "schema/pattern") in {(d.path, d.line, d.rule) for d in diags}


NAMES = {
    "sqlname": "O'Brien; DROP TABLE \"LiteLLM_UserTable\";--",
    "shellname": "$(id) `id` ; rm -rf / && echo pwned > x.txt | cat",
    "pathname": "../../etc/passwd %00 C:\\Windows\\system32",
    "htmlname": "<script>alert('x')</script> & \"quotes\"",
    "uniname": "Zo\u00eb \u5c71\u7530 \u0645\u0631\u062d\u0628\u0627 \u202eevil \U0001f680",
    "jsonname": '{"$ne": null} \\u0000 %s %n {{7*7}}',
}


@pytest.mark.integration
def test_names_with_metacharacters_reach_litellm_verbatim(workspace, gateway, admin, gatewayctl):
    reset_gateway(admin)
    for p in (workspace / "users").glob("*.yaml"):
        p.unlink()
    for stem, name in NAMES.items():
        write(workspace, stem, name=name)
    assert gatewayctl("validate").returncode == 0
    apply = gatewayctl("apply", "--confirm")
    assert apply.returncode == 0, apply.stderr
    for stem, name in NAMES.items():
        info = admin.get("/user/info", params={"user_id": stem})
        assert info.status_code == 200, info.text
        assert info.json()["user_info"]["user_alias"] == name, stem
    # nothing was mangled on the way (else plan would want to "fix" the names forever)
    plan = gatewayctl("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout
    # the proxy still works: the SQL in the name was data, not a statement
    users = admin.get("/user/list", params={"page": 1, "page_size": 100})
    assert users.status_code == 200
    assert {u["user_id"] for u in users.json()["users"]} >= set(NAMES)
    r = chat(gateway.base_url, secret_key("sqlname"), "model-cheap")
    assert r.status_code == 200, r.text
