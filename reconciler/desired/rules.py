"""The validation rules a JSON Schema can't express, as data: each declared once with its id (the `[rule]` an
error message ends with) and what it applies to; `validate.check()` runs them in a loop. A rule yields
findings, each a path into its file (so the message points at file, line and column), a message, and
whether it is only a warning."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from reconciler.desired import bedrock, guardrails, residency
from reconciler.desired.policy import LITELLM_RESERVED_OUTPUT_TOKENS, Model, Tier

MODELS_FILE = "policies/models.yaml"
TIERS_FILE = "policies/tiers.yaml"
EMAIL_FILE = "policies/email.yaml"
MAX_EXCEPTION_DAYS = 90

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


def cents_ok(value: Decimal) -> bool:
    return value == value.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Finding:
    path: tuple
    message: str
    severity: str = "error"
    at_key: bool = False


@dataclass
class Subject:
    """One entry a rule looks at: a model alias, a tier or a user file (its YAML `spec`), with what is
    known around it when the rule runs (`seen`: the entries of its kind before it)."""

    key: str
    spec: dict
    region: str = ""
    models: dict[str, Model] = field(default_factory=dict)
    tiers: dict[str, Tier] | None = None  # None: policies/tiers.yaml is unusable (already an error)
    tier: Tier | None = None
    domains: frozenset[str] | None = None
    seen: dict[str, Any] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)  # lower-case email -> the file that used it first
    today: dt.date = dt.date.min
    allow_expired: bool = False
    base: dict | None = None  # this user at --base (None: a new user, or no --base)
    has_base: bool = False
    profiles: residency.ProfileTable | None = None  # None: the pinned profile table is unusable (already an error)


@dataclass(frozen=True)
class Rule:
    id: str
    applies_to: str  # "model", "tier", "user" or "exception" (a user's budget_exception block)
    check: Callable[[Subject], Iterable[Finding]]


def _model_reserved(s: Subject):
    why = reserved_model_name(s.key)
    if why:
        yield Finding(("models", s.key), f"model alias {s.key!r} is reserved: {why}", at_key=True)


def _model_id(s: Subject):
    model_id = s.spec["bedrock_model_id"]
    for why in bedrock.problems(model_id, s.region):
        yield Finding(("models", s.key, "bedrock_model_id"), f"{model_id}: {why}")


def _model_output_cap(s: Subject):
    cap = s.spec.get("default_max_tokens", LITELLM_RESERVED_OUTPUT_TOKENS)
    most = bedrock.max_output_tokens(s.spec["bedrock_model_id"])
    if most is not None and cap > most:
        path = ("models", s.key, "default_max_tokens") if "default_max_tokens" in s.spec else ("models", s.key)
        yield Finding(path, f"default_max_tokens {cap} is more than {s.spec['bedrock_model_id']} can produce "
                            f"({most} output tokens at most); set it to {most} or less")


def _tier_cents(s: Subject):
    if not cents_ok(s.tier.monthly_budget_usd):
        yield Finding(("tiers", s.key, "monthly_budget_usd"),
                      f"budget {s.tier.monthly_budget_usd} has more than two decimal places (cents)")
    cap = s.tier.max_exception_usd
    if cap is not None and not cents_ok(cap):
        yield Finding(("tiers", s.key, "max_exception_usd"),
                      f"max_exception_usd {cap} has more than two decimal places (cents)")


def _tier_reserved_model(s: Subject):
    for i, alias in enumerate(s.spec["models"]):
        why = reserved_model_name(alias)
        if why:
            yield Finding(("tiers", s.key, "models", i),
                          f"model {alias!r} is reserved: {why}; list model aliases from {MODELS_FILE} instead")


def _tier_unknown_model(s: Subject):
    for i, alias in enumerate(s.spec["models"]):
        if s.models and alias not in s.models and not reserved_model_name(alias):
            yield Finding(("tiers", s.key, "models", i), f"model alias {alias!r} is not defined in {MODELS_FILE} "
                          f"(known: {', '.join(sorted(s.models))})")


def _tier_request_bound(s: Subject):
    bound = s.tier.max_request_usd
    for alias in s.spec["models"]:
        for model_id in s.models[alias].served_by if alias in s.models else ():  # its fallback bills at its price
            worst = bedrock.worst_request_usd(model_id)
            if worst is not None and worst > bound:
                yield Finding(("tiers", s.key, "max_request_usd"),
                              f"max_request_usd {bound} is below what one request to {alias} can cost: ${worst:.4f} "
                              f"({model_id}: whole context in, maximum output out, at the "
                              "pinned LiteLLM's prices); the stated overshoot bound would not hold")


def _tier_overlap(s: Subject):
    max_age, overlap = s.tier.key_max_age_days, s.tier.key_rotation_overlap_days
    if max_age is not None and overlap >= max_age:
        yield Finding(("tiers", s.key, "key_rotation_overlap_days"),
                      f"overlap {overlap} days must be shorter than key_max_age_days ({max_age}), or a user would "
                      "always hold two keys")


def _tier_alerts(s: Subject):
    alerts = list(s.tier.alerts)
    if alerts != sorted(alerts):
        yield Finding(("tiers", s.key, "alerts"), f"alerts {alerts} must be in ascending order ({sorted(alerts)})")


def _user_id_matches_file(s: Subject):
    if s.spec["id"] != s.key:
        yield Finding(("id",), f"id {s.spec['id']!r} must match the file name ({s.key}.yaml)")


def _user_reserved_id(s: Subject):
    if s.spec["id"].startswith("gatewayctl-"):
        yield Finding(("id",), "ids starting with 'gatewayctl-' are reserved for gatewayctl's own service accounts")


def _user_unique_id(s: Subject):
    if s.spec["id"] in s.seen:
        yield Finding(("id",), f"id {s.spec['id']!r} is also used by {s.seen[s.spec['id']].source}")


def _user_unique_email(s: Subject):
    email = s.spec["email"].lower()
    if email in s.emails:
        yield Finding(("email",), f"email {s.spec['email']!r} is also used by {s.emails[email]}")


def _user_email_domain(s: Subject):
    for name in ("email", "owner"):
        domain = s.spec[name].rsplit("@", 1)[1].lower()
        if s.domains is not None and domain not in s.domains:
            yield Finding((name,), f"{name} {s.spec[name]!r}: the domain {domain!r} is not one of {EMAIL_FILE}'s "
                          f"email_domains ({', '.join(sorted(s.domains))})")


def _user_self_approval(s: Subject):
    if s.spec["owner"].lower() == s.spec["email"].lower():
        yield Finding(("owner",), "owner (the approving manager) must not be the user themself")


def _user_unknown_tier(s: Subject):
    if s.tiers and s.spec["tier"] not in s.tiers:
        yield Finding(("tier",), f"tier {s.spec['tier']!r} does not exist in {TIERS_FILE} "
                      f"(known: {', '.join(sorted(s.tiers))})")


def _grant(user: dict) -> tuple[str, str]:
    return str(user.get("tier")), str(user.get("expires"))


def _user_expired(s: Subject):
    """Past its `expires`: a warning (the next apply revokes it), an error when this change (against
    --base) adds or alters the grant; not reported at all with allow_expired (plan, apply)."""
    expires = dt.date.fromisoformat(s.spec["expires"]) if "expires" in s.spec else None
    if expires is None or expires >= s.today or s.allow_expired:
        return
    if s.has_base and (s.base is None or _grant(s.base) != _grant(s.spec)):
        yield Finding(("expires",), f"expiry date {expires} is in the past (today is {s.today}): this change "
                      f"{'adds' if s.base is None else 'alters'} a grant that has already expired")
    else:
        yield Finding(("expires",), f"expired on {expires}: the next deploy revokes {s.spec['id']}'s access; "
                      "delete this file to finish offboarding", "warning")


EXCEPTION = ("budget_exception",)


def _exception_cents(s: Subject):
    extra = Decimal(s.spec["budget_exception"]["extra_usd"])
    if not cents_ok(extra):
        yield Finding((*EXCEPTION, "extra_usd"), f"extra_usd {extra} has more than two decimal places (cents)")


def _exception_ended(s: Subject):
    """Like an expired grant: a warning (LiteLLM has already ended it), an error only when this change
    adds or alters it."""
    until = dt.date.fromisoformat(s.spec["budget_exception"]["until"])
    if until >= s.today or s.allow_expired:
        return
    if s.has_base and (s.base is None or s.base.get("budget_exception") != s.spec.get("budget_exception")):
        yield Finding((*EXCEPTION, "until"), f"the budget exception ended on {until} (today is {s.today}): this "
                      "change adds or alters an exception that is already over")
    else:
        yield Finding((*EXCEPTION, "until"), f"the budget exception ended on {until}: LiteLLM no longer applies "
                      "it; delete the budget_exception block", "warning")


def _exception_too_long(s: Subject):
    until = dt.date.fromisoformat(s.spec["budget_exception"]["until"])
    if until >= s.today and until > s.today + dt.timedelta(days=MAX_EXCEPTION_DAYS):
        yield Finding((*EXCEPTION, "until"), f"until {until} is more than {MAX_EXCEPTION_DAYS} days after "
                      f"{s.today}; an exception is time-boxed (change the tier for a lasting need)")


def _exception_not_allowed(s: Subject):
    if s.tier is not None and s.tier.max_exception_usd is None:
        yield Finding(EXCEPTION, f"tier {s.tier.key!r} grants no budget exceptions (no max_exception_usd in "
                      f"{TIERS_FILE})")


def _exception_over_cap(s: Subject):
    extra = Decimal(s.spec["budget_exception"]["extra_usd"])
    cap = None if s.tier is None else s.tier.max_exception_usd
    if cap is not None and extra > cap:
        yield Finding((*EXCEPTION, "extra_usd"), f"extra_usd {extra} is above the {s.tier.key} tier's cap of "
                      f"{cap} (max_exception_usd in {TIERS_FILE})")


def _guardrail(check):
    return lambda s: (Finding(path, message) for path, message in check(s.key, s.spec, s.tiers or {}))


def _pinned(check: Callable[[Subject], Iterable[tuple]]) -> Callable[[Subject], Iterable[Finding]]:
    """A rule of reconciler/desired/residency.py, whose (path, message, severity) become findings."""
    return lambda s: (Finding(path, message, severity) for path, message, severity in check(s))


RULES: tuple[Rule, ...] = (
    Rule("models/reserved-name", "model", _model_reserved),
    Rule("bedrock/model-id", "model", _model_id),
    Rule("bedrock/profile-offered", "model", _pinned(residency.profile_offered)),
    Rule("models/fallback", "model", _pinned(residency.fallback_allowed)),
    Rule("bedrock/priced", "model", _pinned(residency.priced)),
    Rule("bedrock/end-of-life", "model", _pinned(residency.end_of_life)),
    Rule("models/default-max-tokens", "model", _model_output_cap),
    Rule("tiers/budget-precision", "tier", _tier_cents),
    Rule("tiers/reserved-model", "tier", _tier_reserved_model),
    Rule("tiers/unknown-model", "tier", _tier_unknown_model),
    Rule("tiers/request-bound", "tier", _tier_request_bound),
    Rule("tiers/rotation-overlap", "tier", _tier_overlap),
    Rule("tiers/alerts-order", "tier", _tier_alerts),
    *(Rule(rule_id, "tier", _guardrail(check)) for rule_id, check in guardrails.CHECKS),
    Rule("users/id-matches-file", "user", _user_id_matches_file),
    Rule("users/reserved-id", "user", _user_reserved_id),
    Rule("users/unique-id", "user", _user_unique_id),
    Rule("users/unique-email", "user", _user_unique_email),
    Rule("users/email-domain", "user", _user_email_domain),
    Rule("users/self-approval", "user", _user_self_approval),
    Rule("users/unknown-tier", "user", _user_unknown_tier),
    Rule("users/expired", "user", _user_expired),
    Rule("users/exception-precision", "exception", _exception_cents),
    Rule("users/exception-ended", "exception", _exception_ended),
    Rule("users/exception-too-long", "exception", _exception_too_long),
    Rule("users/exception-not-allowed", "exception", _exception_not_allowed),
    Rule("users/exception-over-cap", "exception", _exception_over_cap),
)


def run(applies_to: str, doc, subject: Subject) -> list:
    """Every finding of the rules for `applies_to` on one subject, as diagnostics at their place in `doc`."""
    return [doc.diag(f.path, f.message, rule.id, severity=f.severity, at_key=f.at_key)
            for rule in RULES if rule.applies_to == applies_to for f in rule.check(subject)]
