"""`gatewayctl validate`: JSON Schema plus the rules a schema can't express, with file:line:col errors.

`load_desired()` is the only way the rest of the tool gets a DesiredState, so nothing is ever
planned from a file that failed validation.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import jsonschema

from reconciler.desired import guardrails, mapping, render, residency, rules, shards, yamlfile
from reconciler.desired.diagnostics import Diagnostic, InputError
from reconciler.desired.policy import LITELLM_RESERVED_OUTPUT_TOKENS, BudgetException, DesiredState, Model, Tier, User
from reconciler.desired.rules import (  # noqa: F401 - also known by these names here
    EMAIL_FILE,
    LITELLM_SPECIAL_MODEL_NAMES,
    MODELS_FILE,
    TIERS_FILE,
    Subject,
    reserved_model_name,
)
from reconciler.desired.yamlfile import Document

SCHEMA_DIR = "schemas"
APPROVERS_FILE = "policies/approvers.yaml"
USERS_DIR = "users"
POLICIES_DIR = "policies"
CONFIG_FILE = "gateway/config.yaml"


@functools.cache
def _validator(root: str, name: str) -> jsonschema.protocols.Validator:
    rel = f"{SCHEMA_DIR}/{name}"
    schema = json.loads(yamlfile.read_regular(Path(root) / rel, rel))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_errors(root: Path, doc: Document, schema_name: str) -> list[Diagnostic]:
    try:
        validator = _validator(str(root), schema_name)
    except InputError as exc:  # a symbolic link, or not a file
        if any(d.rule != "io" for d in exc.diagnostics):
            return exc.diagnostics
        return [Diagnostic(f"{SCHEMA_DIR}/{schema_name}", 1, 1, f"cannot load the schema: "
                           f"{exc.diagnostics[0].message}; this repository needs the {SCHEMA_DIR}/ folder of "
                           "llm-gateway-gitops", "schema/missing")]
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as exc:  # no or broken schemas/ (a hook elsewhere)
        return [Diagnostic(f"{SCHEMA_DIR}/{schema_name}", 1, 1, f"cannot load the schema: {exc}; this repository "
                           f"needs the {SCHEMA_DIR}/ folder of llm-gateway-gitops", "schema/missing")]
    out = []
    for err in validator.iter_errors(doc.data):
        path = tuple(err.absolute_path)
        where = ".".join(str(p) for p in path) or "document"
        message = err.message
        if err.validator == "pattern":
            form = err.schema.get("description", err.validator_value)
            message = f"{err.instance!r} does not match the allowed form ({form})"
        elif err.validator == "additionalProperties" and isinstance(err.instance, dict):
            unknown = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            if unknown:
                path = (*path, unknown[0])
            allowed = ", ".join(err.schema.get("properties", {}))
            message = f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: {allowed}"
        out.append(doc.diag(path, f"{where}: {message}", f"schema/{err.validator}"))
    return out


def _entries(folder: Path) -> list[os.DirEntry]:
    """The entries of `folder` by name (none when it is not a directory)."""
    if not folder.is_dir():
        return []
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: e.name)


def _load_docs(root: Path) -> tuple[list[Diagnostic], Document | None, Document | None, Document | None,
                                    list[Document]]:
    diags: list[Diagnostic] = []

    def load(rel: str) -> Document | None:
        try:
            return yamlfile.load(root / rel, rel)
        except InputError as exc:
            diags.extend(exc.diagnostics)
            return None

    for folder in (POLICIES_DIR, USERS_DIR, SCHEMA_DIR, CONFIG_FILE.split("/")[0]):
        if (root / folder).is_symlink():
            diags.append(Diagnostic(folder, 1, 1, f"{folder}/ must be a directory in the repository, not a "
                                    "symbolic link", "not-a-regular-file"))
    if diags:
        return diags, None, None, None, []
    models = load(MODELS_FILE)
    tiers = load(TIERS_FILE)
    email = load(EMAIL_FILE)
    users_dir = root / USERS_DIR
    user_docs = []
    # One directory listing tells each entry's type without a stat per file (10,000 files on a plan).
    for entry in _entries(users_dir):
        rel = f"{USERS_DIR}/{entry.name}"
        if entry.is_symlink() or not entry.is_file():
            # Checked before the name: a link is never followed, whatever it is called.
            diags.append(Diagnostic(rel, 1, 1, "only regular files belong in users/ (no symbolic links, "
                                    "directories or devices)", "not-a-regular-file"))
            continue
        if entry.name.startswith(".") or entry.name == "README.md":
            continue
        if Path(entry.name).suffix not in (".yaml", ".yml"):
            diags.append(Diagnostic(rel, 1, 1, "only <id>.yaml files belong in users/", "users/file-name"))
            continue
        doc = load(rel)
        if doc is not None:
            user_docs.append(doc)
    return diags, models, tiers, email, user_docs


def _email_domains(root: Path, doc: Document | None, diags: list[Diagnostic]) -> frozenset[str] | None:
    """The allowed mail domains, or None when policies/email.yaml is unusable (already an error)."""
    if doc is None:
        return None
    errs = schema_errors(root, doc, "email.schema.json")
    diags += errs
    return None if errs else frozenset(doc.data["email_domains"])


def check(root: Path, *, today: dt.date | None = None, allow_expired: bool = False,
          base_users: dict[str, dict] | None = None,
          check_config: bool = True) -> tuple[list[Diagnostic], DesiredState | None]:
    """Every diagnostic for the repository at `root`, and the state when none of them is an error: each
    file against its schema, then the rules of reconciler/desired/rules.py, one loop over them per entry.

    A grant whose `expires` has passed is a warning (the next apply revokes it), unless `base_users`
    (users/ at the change's base, by id) shows that this change adds or alters that grant: then it is
    an error. With `allow_expired` (plan, apply) it is not reported at all."""
    today = today or dt.date.today()
    diags, models_doc, tiers_doc, email_doc, user_docs = _load_docs(root)
    around = Subject("", {}, today=today, allow_expired=allow_expired, has_base=base_users is not None,
                     domains=_email_domains(root, email_doc, diags))
    around.profiles = _profile_table(root, diags)
    if _schema_ok(root, models_doc, "models.schema.json", diags):
        around.region = models_doc.data["region"]
        for alias, spec in models_doc.data["models"].items():
            diags += rules.run("model", models_doc, replace(around, key=alias, spec=spec))
            around.models[alias] = Model(alias, spec["display_name"], spec["bedrock_model_id"],
                                         spec.get("default_max_tokens", LITELLM_RESERVED_OUTPUT_TOKENS),
                                         residency.fallback_model_id(spec))
    if _schema_ok(root, tiers_doc, "tiers.schema.json", diags):
        around.tiers = {}
        for key, spec in tiers_doc.data["tiers"].items():
            tier = around.tiers[key] = mapping.from_yaml(Tier, spec, key=key)
            diags += rules.run("tier", tiers_doc, replace(around, key=key, spec=spec, tier=tier))
    users: dict[str, User] = {}
    for doc in user_docs:
        if _schema_ok(root, doc, "user.schema.json", diags):
            diags += _user_rules(doc, replace(around, seen=users), base_users)
    if tiers_doc is not None:
        diags += team_size_warnings(tiers_doc, around.tiers or {}, users)
    diags += _approver_diagnostics(root)
    if check_config and around.models and not any(d.is_error for d in diags):
        diags += config_drift(root, around.region, around.models, guardrails.model_tiers(around.tiers or {}))
    diags = sorted(set(diags))
    if any(d.is_error for d in diags):
        return diags, None
    return diags, DesiredState(around.region, around.models, around.tiers or {}, users)


def _approver_diagnostics(root: Path) -> list[Diagnostic]:
    """policies/approvers.yaml (optional; `gatewayctl check-approvals` reads it) against its schema."""
    if not (root / APPROVERS_FILE).exists() and not (root / APPROVERS_FILE).is_symlink():
        return []
    try:
        return schema_errors(root, yamlfile.load(root / APPROVERS_FILE, APPROVERS_FILE), "approvers.schema.json")
    except InputError as exc:
        return exc.diagnostics


def _profile_table(root: Path, diags: list[Diagnostic]) -> residency.ProfileTable | None:
    """The pinned table of Bedrock inference profiles; None (and the reason in `diags`) when unusable."""
    try:
        doc = residency.load_document(root)
    except InputError as exc:
        diags += exc.diagnostics
        return None
    return residency.table(doc.data) if _schema_ok(root, doc, "bedrock-profiles.schema.json", diags) else None


def _schema_ok(root: Path, doc: Document | None, schema: str, diags: list[Diagnostic]) -> bool:
    if doc is None:
        return False
    errs = schema_errors(root, doc, schema)
    diags += errs
    return not errs


def _user_rules(doc: Document, around: Subject, base_users: dict[str, dict] | None) -> list[Diagnostic]:
    """The user rules on one file, then its budget exception's; the user joins `around.seen` (by id, the
    first file wins) and its email `around.emails`."""
    d = doc.data
    tier = (around.tiers or {}).get(d["tier"])
    subject = replace(around, key=Path(doc.path).stem, spec=d, tier=tier,
                      base=None if base_users is None else base_users.get(d["id"]))
    diags = rules.run("user", doc, subject)
    around.emails.setdefault(d["email"].lower(), doc.path)
    exception = None
    if d.get("budget_exception") is not None:
        diags += rules.run("exception", doc, subject)
        raw = d["budget_exception"]
        exception = BudgetException(Decimal(raw["extra_usd"]), dt.date.fromisoformat(raw["until"]), raw["ticket"])
    around.seen.setdefault(d["id"], mapping.from_yaml(User, d, source=doc.path, budget_exception=exception))
    return diags


def team_size_warnings(tiers_doc: Document, tiers: dict[str, Tier], users: dict[str, User]) -> list[Diagnostic]:
    """A warning per tier with more users per LiteLLM team than shards.MAX_USERS_PER_TEAM: key creation
    slows down as a team grows, and `teams` spreads the tier over more (reconciler/desired/shards.py)."""
    members: dict[str, int] = {}
    for u in users.values():
        members[u.tier] = members.get(u.tier, 0) + 1
    out = []
    for key, tier in tiers.items():
        n = members.get(key, 0)
        if n > shards.MAX_USERS_PER_TEAM * tier.teams:
            need = -(-n // shards.MAX_USERS_PER_TEAM)
            out.append(tiers_doc.diag(
                ("tiers", key, "teams") if "teams" in tiers_doc.data["tiers"][key] else ("tiers", key),
                f"{n} users in {tier.teams} LiteLLM team(s) is more than {shards.MAX_USERS_PER_TEAM} per team: "
                "LiteLLM reads the whole team, every member listed, on each key generation, so creating keys "
                f"slows down as the team grows (docs/performance.md); set `teams: {need}` or more "
                "(docs/adr/0002-tier-model-in-litellm.md, \"Shards\")", "tiers/users-per-team", severity="warning"))
    return out


def read_config(root: Path) -> str | None:
    """gateway/config.yaml as committed, None when there is none (InputError for a link or a non-file)."""
    path = root / CONFIG_FILE
    if not path.exists() and not path.is_symlink():
        return None
    return yamlfile.read_regular(path, CONFIG_FILE).decode("utf-8", errors="replace")


def config_drift(root: Path, region: str, models: dict[str, Model],
                 guardrail_tiers: dict[str, str] | None = None) -> list[Diagnostic]:
    """gateway/config.yaml must be exactly what policies/models.yaml (and tiers.yaml's guardrails) render to."""
    expected = render.render_config(region, models, guardrail_tiers)
    try:
        actual = read_config(root)
    except InputError as exc:
        return exc.diagnostics
    if actual == expected:
        return []
    if actual is None:
        return [Diagnostic(CONFIG_FILE, 1, 1, "missing; run `gatewayctl render-config`", "config/stale")]
    a, e = actual.splitlines(), expected.splitlines()
    line = next((i + 1 for i, (x, y) in enumerate(zip(a, e, strict=False)) if x != y), min(len(a), len(e)) + 1)
    return [Diagnostic(CONFIG_FILE, line, 1, f"differs from what {MODELS_FILE} renders to; "
                       "run `gatewayctl render-config` (edit policies/models.yaml, not this file)",
                       "config/stale")]


def load_desired(root: Path, *, today: dt.date | None = None, allow_expired: bool = True) -> DesiredState:
    """The validated desired state, or InputError with every problem found."""
    diags, state = check(root, today=today, allow_expired=allow_expired)
    if state is None:
        raise InputError(diags)
    return state
