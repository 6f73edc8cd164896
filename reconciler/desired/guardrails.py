"""A tier's `guardrail:` (policies/tiers.yaml): an Amazon Bedrock guardrail its models' calls go through.

Terraform (terraform/modules/bedrock-guardrails) creates one guardrail and a numbered version per guarded
tier from the same YAML; gateway/config.yaml gives that tier's model deployments a `guardrailConfig`
whose identifier and version LiteLLM reads from the task's environment (GUARDRAIL_<TIER>_ID/_VERSION,
set by Terraform), so the config holds no account-specific value. docs/adr/0008-guardrails-per-tier.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# Content filter categories a `content_filter_strength` applies to (Bedrock GuardrailContentFilterType).
# PROMPT_ATTACK is judged on prompts only: Bedrock requires its output strength to be NONE.
CONTENT_CATEGORIES = ("HATE", "INSULTS", "MISCONDUCT", "SEXUAL", "VIOLENCE")
PROMPT_ATTACK = "PROMPT_ATTACK"
# Bedrock's trace names each match's text, and LiteLLM 1.108.7 hands the trace to the client as it is
# (converse_transformation.py: setattr(model_response, "trace", ...)): an e-mail address the guardrail
# masked in the answer would come back in trace.guardrail.outputAssessments. Off, the client sees
# finish_reason content_filter; the price: LiteLLM bills a guardrail's own cost only from a trace, so
# guardrail charges are not in members' spend (docs/adr/0008-guardrails-per-tier.md).
TRACE = "disabled"


@dataclass(frozen=True)
class Topic:
    name: str
    definition: str
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Guardrail:
    blocked_input_messaging: str
    blocked_outputs_messaging: str
    pii: tuple[tuple[str, str], ...] = ()  # (Bedrock PII entity type, BLOCK or ANONYMIZE), sorted
    denied_topics: tuple[Topic, ...] = ()
    content_filter_strength: str = "NONE"


def parse(spec: dict | None) -> Guardrail | None:
    """The schema-checked YAML block as a Guardrail (None: the tier is not guarded)."""
    if spec is None:
        return None
    topics = tuple(Topic(t["name"], t["definition"], tuple(t.get("examples", ())))
                   for t in spec.get("denied_topics", ()))
    return Guardrail(spec["blocked_input_messaging"], spec["blocked_outputs_messaging"],
                     tuple(sorted((spec.get("pii") or {}).items())), topics,
                     spec.get("content_filter_strength", "NONE"))


def env_names(tier_key: str) -> tuple[str, str]:
    """The task environment variables holding a tier's guardrail id and version (Terraform sets them)."""
    stem = "GUARDRAIL_" + tier_key.upper().replace("-", "_")
    return stem + "_ID", stem + "_VERSION"


def config_lines(tier_key: str | None) -> list[str]:
    """The `guardrailConfig` lines of a model deployment in gateway/config.yaml (none when unguarded).
    LiteLLM 1.108.7 resolves os.environ/ references anywhere in the config and passes guardrailConfig
    from litellm_params to Converse as it is."""
    if tier_key is None:
        return []
    id_var, version_var = env_names(tier_key)
    return ["      guardrailConfig:",
            f"        guardrailIdentifier: os.environ/{id_var}",
            f"        guardrailVersion: os.environ/{version_var}",
            f"        trace: {TRACE}"]


def model_tiers(tiers: dict) -> dict[str, str]:
    """Model alias -> the guarded tier whose guardrail its deployment carries (rule tiers/guardrail-model
    keeps a guarded tier's models to itself)."""
    return {alias: key for key, tier in tiers.items() if tier.guardrail is not None for alias in tier.models}


def bedrock_definition(g: Guardrail) -> dict:
    """The guardrail as Bedrock's CreateGuardrail request holds it (what Terraform creates; the fake
    Bedrock answers by it)."""
    out: dict = {"blockedInputMessaging": g.blocked_input_messaging,
                 "blockedOutputsMessaging": g.blocked_outputs_messaging}
    if g.pii:
        out["sensitiveInformationPolicyConfig"] = {
            "piiEntitiesConfig": [{"type": t, "action": a} for t, a in g.pii]}
    if g.denied_topics:
        out["topicPolicyConfig"] = {"topicsConfig": [
            {"name": t.name, "definition": t.definition, "examples": list(t.examples), "type": "DENY"}
            for t in g.denied_topics]}
    if g.content_filter_strength != "NONE":
        s = g.content_filter_strength
        out["contentPolicyConfig"] = {"filtersConfig": [
            *({"type": c, "inputStrength": s, "outputStrength": s} for c in CONTENT_CATEGORIES),
            {"type": PROMPT_ATTACK, "inputStrength": s, "outputStrength": "NONE"}]}
    return out


# ------------------------------------------------------------------ rules (reconciler/desired/rules.py runs them)


def _no_policy(key: str, spec: dict, tiers: dict) -> Iterator[tuple[tuple, str]]:
    g = spec.get("guardrail")
    if g is not None and not g.get("pii") and not g.get("denied_topics") \
            and g.get("content_filter_strength", "NONE") == "NONE":
        yield ("tiers", key, "guardrail"), ("a guardrail needs at least one policy: pii, denied_topics or a "
                                            "content_filter_strength other than NONE (Bedrock refuses an empty one)")


def _shared_model(key: str, spec: dict, tiers: dict) -> Iterator[tuple[tuple, str]]:
    """guardrailConfig is set per model deployment, so a guarded tier's model serves that tier only. Tiers
    are checked in file order against the ones before them, so the later tier gets the error."""
    for i, alias in enumerate(spec["models"]):
        for other, tier in tiers.items():
            guarded = [k for k, g in ((key, spec.get("guardrail")), (other, tier.guardrail)) if g is not None]
            if other != key and alias in tier.models and guarded:
                yield ("tiers", key, "models", i), (
                    f"model {alias!r} is also a model of tier {other!r}, and {' and '.join(guarded)} is guarded: a "
                    "guardrail applies to a model deployment, so a guarded tier's models must be its own (add a "
                    "model alias for this tier)")


def _duplicate_topic(key: str, spec: dict, tiers: dict) -> Iterator[tuple[tuple, str]]:
    seen: set[str] = set()
    for i, topic in enumerate((spec.get("guardrail") or {}).get("denied_topics", ())):
        if topic["name"].lower() in seen:
            yield ("tiers", key, "guardrail", "denied_topics", i, "name"), (
                f"denied topic {topic['name']!r} is named twice (Bedrock compares topic names without case)")
        seen.add(topic["name"].lower())


CHECKS = (("tiers/guardrail-no-policy", _no_policy),
          ("tiers/guardrail-model", _shared_model),
          ("tiers/guardrail-topic-name", _duplicate_topic))


# ------------------------------------------------------------------ changes, for the plan and the PR comment


def _describe(g: Guardrail | None) -> dict[str, str]:
    if g is None:
        return {}
    out = {f"pii {t}": a for t, a in g.pii}
    out.update({f"denied topic {t.name}": t.definition for t in g.denied_topics})
    out["content filters"] = g.content_filter_strength
    out["blocked input message"] = g.blocked_input_messaging
    out["blocked output message"] = g.blocked_outputs_messaging
    return out


def changes(before: dict[str, Guardrail | None], after: dict[str, Guardrail | None]) -> list[str]:
    """One line per changed guardrail setting, by tier, between two versions of policies/tiers.yaml."""
    lines = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if old is None or new is None:
            lines.append(f"- tier `{key}`: guardrail {'added' if old is None else 'removed'}")
        a, b = _describe(old), _describe(new)
        for field in sorted(set(a) | set(b)):
            if a.get(field) != b.get(field):
                lines.append(f"- tier `{key}`: {field}: {_show(a.get(field))} → {_show(b.get(field))}")
    return lines


def _show(value: str | None) -> str:
    return "(none)" if value is None else "`" + value.replace("`", "'") + "`"  # no code span a value can end


def local_id(tier_key: str) -> str:
    """A guardrail id in Bedrock's form ([a-z0-9]+) for the local gateway's fake Bedrock."""
    return "local" + re.sub(r"[^a-z0-9]", "x", tier_key)


def local_setup(tier_specs: dict[str, dict]) -> tuple[dict[str, str], dict[str, dict]]:
    """For the local gateway, from policies/tiers.yaml's `tiers`: the proxy's environment (each guarded
    tier's id and version, as Terraform sets them on ECS) and the fake Bedrock's guardrails (id -> version
    and definition, as Terraform creates them)."""
    env: dict[str, str] = {}
    defs: dict[str, dict] = {}
    for key, spec in tier_specs.items():
        guardrail = parse(spec.get("guardrail"))
        if guardrail is None:
            continue
        id_var, version_var = env_names(key)
        env[id_var], env[version_var] = local_id(key), "1"
        defs[local_id(key)] = {"version": "1", "definition": bedrock_definition(guardrail)}
    return env, defs
