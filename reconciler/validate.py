"""`gatewayctl validate`: JSON Schema plus the rules a schema can't express, with file:line:col errors.

`load_desired()` is the only way the rest of the tool gets a DesiredState, so nothing is ever
planned from a file that failed validation.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from decimal import Decimal
from pathlib import Path

import jsonschema

from reconciler import bedrock, mapping, render, shards, yamlfile
from reconciler.diagnostics import Diagnostic, InputError
from reconciler.policy import LITELLM_RESERVED_OUTPUT_TOKENS, BudgetException, DesiredState, Model, Tier, User
from reconciler.yamlfile import Document

SCHEMA_DIR = "schemas"
MODELS_FILE = "policies/models.yaml"
TIERS_FILE = "policies/tiers.yaml"
EMAIL_FILE = "policies/email.yaml"
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


# Model names LiteLLM 1.108.7 gives a meaning of its own (litellm.proxy._types.SpecialModelNames;
# tests/test_validate.py checks this list against the installed LiteLLM). A tier listing one of them
# gets far more than a model: `all-proxy-models` is every model on the gateway.
LITELLM_SPECIAL_MODEL_NAMES = {
    "all-proxy-models": "LiteLLM reads it as every model on the gateway",
    "all-team-models": "LiteLLM reads it as every model of the key's team",
    "no-default-models": "LiteLLM reads it as no model outside a team",
}


def reserved_model_name(name: str) -> str | None:
    """Why `name` cannot be a model alias or a tier's model, or None when it can."""
    if name in LITELLM_SPECIAL_MODEL_NAMES:
        return LITELLM_SPECIAL_MODEL_NAMES[name]
    if "*" in name:
        return "LiteLLM reads '*' as a wildcard over model names"
    if "/" in name:
        return "LiteLLM reads provider/model names (and provider/* patterns) as provider routes"
    return None


def _cents_ok(value: Decimal) -> bool:
    return value == value.quantize(Decimal("0.01"))


def _grant(user: dict) -> tuple[str, str]:
    return str(user.get("tier")), str(user.get("expires"))


def check(root: Path, *, today: dt.date | None = None, allow_expired: bool = False,
          base_users: dict[str, dict] | None = None,
          check_config: bool = True) -> tuple[list[Diagnostic], DesiredState | None]:
    """Every diagnostic for the repository at `root`, and the state when none of them is an error.

    A grant whose `expires` has passed is a warning (the next apply revokes it), unless `base_users`
    (users/ at the change's base, by id) shows that this change adds or alters that grant: then it is
    an error. With `allow_expired` (plan, apply) it is not reported at all."""
    today = today or dt.date.today()
    diags, models_doc, tiers_doc, email_doc, user_docs = _load_docs(root)
    domains = _email_domains(root, email_doc, diags)

    models: dict[str, Model] = {}
    region = ""
    if models_doc is not None:
        errs = schema_errors(root, models_doc, "models.schema.json")
        diags += errs
        if not errs:
            region = models_doc.data["region"]
            for alias, spec in models_doc.data["models"].items():
                why = reserved_model_name(alias)
                if why:
                    diags.append(models_doc.diag(("models", alias), f"model alias {alias!r} is reserved: {why}",
                                                 "models/reserved-name", at_key=True))
                model = models[alias] = Model(alias, spec["display_name"], spec["bedrock_model_id"],
                                              spec.get("default_max_tokens", LITELLM_RESERVED_OUTPUT_TOKENS))
                for why in bedrock.problems(spec["bedrock_model_id"], region):
                    diags.append(models_doc.diag(("models", alias, "bedrock_model_id"),
                                                 f"{spec['bedrock_model_id']}: {why}", "bedrock/model-id"))
                most = bedrock.max_output_tokens(model.bedrock_model_id)
                if most is not None and model.default_max_tokens > most:
                    diags.append(models_doc.diag(
                        ("models", alias, "default_max_tokens") if "default_max_tokens" in spec else ("models", alias),
                        f"default_max_tokens {model.default_max_tokens} is more than {model.bedrock_model_id} can "
                        f"produce ({most} output tokens at most); set it to {most} or less",
                        "models/default-max-tokens"))

    tiers: dict[str, Tier] = {}
    if tiers_doc is not None:
        errs = schema_errors(root, tiers_doc, "tiers.schema.json")
        diags += errs
        if not errs:
            for key, spec in tiers_doc.data["tiers"].items():
                tier = tiers[key] = mapping.from_yaml(Tier, spec, key=key)
                budget = tier.monthly_budget_usd
                if not _cents_ok(budget):
                    diags.append(tiers_doc.diag(("tiers", key, "monthly_budget_usd"),
                                                f"budget {budget} has more than two decimal places (cents)",
                                                "tiers/budget-precision"))
                for i, alias in enumerate(spec["models"]):
                    why = reserved_model_name(alias)
                    if why:
                        diags.append(tiers_doc.diag(("tiers", key, "models", i),
                                                    f"model {alias!r} is reserved: {why}; list model aliases "
                                                    f"from {MODELS_FILE} instead", "tiers/reserved-model"))
                    elif models and alias not in models:
                        diags.append(tiers_doc.diag(("tiers", key, "models", i),
                                                    f"model alias {alias!r} is not defined in {MODELS_FILE} "
                                                    f"(known: {', '.join(sorted(models))})", "tiers/unknown-model"))
                cap = tier.max_exception_usd
                if cap is not None and not _cents_ok(cap):
                    diags.append(tiers_doc.diag(("tiers", key, "max_exception_usd"),
                                                f"max_exception_usd {cap} has more than two decimal places (cents)",
                                                "tiers/budget-precision"))
                bound = tier.max_request_usd
                for alias in spec["models"]:
                    worst = bedrock.worst_request_usd(models[alias].bedrock_model_id) if alias in models else None
                    if worst is not None and worst > bound:
                        diags.append(tiers_doc.diag(
                            ("tiers", key, "max_request_usd"),
                            f"max_request_usd {bound} is below what one request to {alias} can cost: ${worst:.4f} "
                            f"({models[alias].bedrock_model_id}: whole context in, maximum output out, at the "
                            "pinned LiteLLM's prices); the stated overshoot bound would not hold",
                            "tiers/request-bound"))
                max_age, overlap = tier.key_max_age_days, tier.key_rotation_overlap_days
                if max_age is not None and overlap >= max_age:
                    diags.append(tiers_doc.diag(("tiers", key, "key_rotation_overlap_days"),
                                                f"overlap {overlap} days must be shorter than key_max_age_days "
                                                f"({max_age}), or a user would always hold two keys",
                                                "tiers/rotation-overlap"))
                alerts = tier.alerts
                if list(alerts) != sorted(alerts):
                    diags.append(tiers_doc.diag(("tiers", key, "alerts"),
                                                f"alerts {list(alerts)} must be in ascending order "
                                                f"({sorted(alerts)})", "tiers/alerts-order"))

    users: dict[str, User] = {}
    first_email: dict[str, str] = {}
    for doc in user_docs:
        errs = schema_errors(root, doc, "user.schema.json")
        diags += errs
        if errs:
            continue
        d = doc.data
        stem = Path(doc.path).stem
        if d["id"] != stem:
            diags.append(doc.diag(("id",), f"id {d['id']!r} must match the file name ({stem}.yaml)",
                                  "users/id-matches-file"))
        if d["id"].startswith("gatewayctl-"):
            diags.append(doc.diag(("id",), "ids starting with 'gatewayctl-' are reserved for gatewayctl's own "
                                  "service accounts", "users/reserved-id"))
        if d["id"] in users:
            diags.append(doc.diag(("id",), f"id {d['id']!r} is also used by {users[d['id']].source}",
                                  "users/unique-id"))
        email = d["email"].lower()
        if email in first_email:
            diags.append(doc.diag(("email",), f"email {d['email']!r} is also used by {first_email[email]}",
                                  "users/unique-email"))
        first_email.setdefault(email, doc.path)
        for field in ("email", "owner"):
            domain = d[field].rsplit("@", 1)[1].lower()
            if domains is not None and domain not in domains:
                diags.append(doc.diag((field,), f"{field} {d[field]!r}: the domain {domain!r} is not one of "
                                      f"{EMAIL_FILE}'s email_domains ({', '.join(sorted(domains))})",
                                      "users/email-domain"))
        if d["owner"].lower() == email:
            diags.append(doc.diag(("owner",), "owner (the approving manager) must not be the user themself",
                                  "users/self-approval"))
        if tiers_doc is not None and tiers and d["tier"] not in tiers:
            diags.append(doc.diag(("tier",), f"tier {d['tier']!r} does not exist in {TIERS_FILE} "
                                  f"(known: {', '.join(sorted(tiers))})", "users/unknown-tier"))
        expires = dt.date.fromisoformat(d["expires"]) if "expires" in d else None
        if expires is not None and expires < today and not allow_expired:
            base = None if base_users is None else base_users.get(d["id"])
            if base_users is not None and (base is None or _grant(base) != _grant(d)):
                diags.append(doc.diag(("expires",), f"expiry date {expires} is in the past (today is {today}): "
                                      f"this change {'adds' if base is None else 'alters'} a grant that has "
                                      "already expired", "users/expired"))
            else:
                diags.append(doc.diag(("expires",), f"expired on {expires}: the next deploy revokes "
                                      f"{d['id']}'s access; delete this file to finish offboarding",
                                      "users/expired", severity="warning"))
        base = None if base_users is None else base_users.get(d["id"])
        exception = _budget_exception(doc, tiers.get(d["tier"]), today, allow_expired, diags,
                                      changed=base_users is not None and (
                                          base is None or base.get("budget_exception") != d.get("budget_exception")))
        users.setdefault(d["id"], mapping.from_yaml(User, d, source=doc.path, budget_exception=exception))

    if tiers_doc is not None:
        diags += team_size_warnings(tiers_doc, tiers, users)
    if check_config and models and not any(d.is_error for d in diags):
        diags += config_drift(root, region, models)

    diags = sorted(set(diags))
    if any(d.is_error for d in diags):
        return diags, None
    return diags, DesiredState(region, models, tiers, users)


def team_size_warnings(tiers_doc: Document, tiers: dict[str, Tier], users: dict[str, User]) -> list[Diagnostic]:
    """A warning per tier with more users per LiteLLM team than shards.MAX_USERS_PER_TEAM: key creation
    slows down as a team grows, and `teams` spreads the tier over more (reconciler/shards.py)."""
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


MAX_EXCEPTION_DAYS = 90


def _budget_exception(doc: Document, tier: Tier | None, today: dt.date, allow_expired: bool,
                      diags: list[Diagnostic], *, changed: bool = False) -> BudgetException | None:
    """The rules a schema can't express: cents, at most 90 days ahead, not already over, and
    within the tier's cap. Self-approval is the `owner` rule above: the owner approves the PR.
    An exception whose `until` has passed is, like an expired grant, a warning (LiteLLM has already
    ended it), and an error only when this change (`changed`, against --base) adds or alters it."""
    raw = doc.data.get("budget_exception")
    if raw is None:
        return None
    where = ("budget_exception",)
    extra, until = Decimal(raw["extra_usd"]), dt.date.fromisoformat(raw["until"])
    if not _cents_ok(extra):
        diags.append(doc.diag((*where, "extra_usd"), f"extra_usd {extra} has more than two decimal places (cents)",
                              "users/exception-precision"))
    if until < today and not allow_expired:
        if changed:
            diags.append(doc.diag((*where, "until"), f"the budget exception ended on {until} (today is {today}): "
                                  "this change adds or alters an exception that is already over",
                                  "users/exception-ended"))
        else:
            diags.append(doc.diag((*where, "until"), f"the budget exception ended on {until}: LiteLLM no longer "
                                  "applies it; delete the budget_exception block", "users/exception-ended",
                                  severity="warning"))
    elif until > today + dt.timedelta(days=MAX_EXCEPTION_DAYS):
        diags.append(doc.diag((*where, "until"), f"until {until} is more than {MAX_EXCEPTION_DAYS} days after "
                              f"{today}; an exception is time-boxed (change the tier for a lasting need)",
                              "users/exception-too-long"))
    if tier is not None and tier.max_exception_usd is None:
        diags.append(doc.diag((*where,), f"tier {tier.key!r} grants no budget exceptions (no max_exception_usd in "
                              f"{TIERS_FILE})", "users/exception-not-allowed"))
    elif tier is not None and extra > tier.max_exception_usd:
        diags.append(doc.diag((*where, "extra_usd"), f"extra_usd {extra} is above the {tier.key} tier's cap of "
                              f"{tier.max_exception_usd} (max_exception_usd in {TIERS_FILE})",
                              "users/exception-over-cap"))
    return BudgetException(extra, until, raw["ticket"])


def read_config(root: Path) -> str | None:
    """gateway/config.yaml as committed, None when there is none (InputError for a link or a non-file)."""
    path = root / CONFIG_FILE
    if not path.exists() and not path.is_symlink():
        return None
    return yamlfile.read_regular(path, CONFIG_FILE).decode("utf-8", errors="replace")


def config_drift(root: Path, region: str, models: dict[str, Model]) -> list[Diagnostic]:
    """gateway/config.yaml must be exactly what policies/models.yaml renders to."""
    expected = render.render_config(region, models)
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
