"""Where a model runs and for how long: the pinned table of Bedrock inference profiles
(policies/bedrock-profiles.yaml) and the model rules that read it.

A model's profile is the prefix of its `bedrock_model_id` (`global.`, `apac.`, none: `in-region`), so
switching profile stays a one-line change that every reader of policies/models.yaml (Terraform's
yamldecode, preflight, render-config) already follows. `fallback:` names another profile of the same
foundation model. The table, its sources and the date it was read: docs/adr/0001-bedrock-model-ids.md.

The rules here yield (path, message, severity); reconciler/desired/rules.py declares them with their ids.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.desired import bedrock, yamlfile

PROFILES_FILE = "policies/bedrock-profiles.yaml"
EOL_WARNING_DAYS = 60


@dataclass(frozen=True)
class ProfileTable:
    checked: str
    source_region: str
    models: dict[str, dict]  # foundation model ID -> {"profiles": {profile: [destination regions]}, "end_of_life"}

    def offered(self, foundation_model: str) -> dict[str, list[str]] | None:
        """The profiles Bedrock offers for the model from source_region; None: the model is not in the table."""
        entry = self.models.get(foundation_model)
        return None if entry is None else dict(entry.get("profiles") or {})

    def end_of_life(self, foundation_model: str) -> dt.date | None:
        eol = (self.models.get(foundation_model) or {}).get("end_of_life")
        return None if eol is None else dt.date.fromisoformat(str(eol))


def load_document(root: Path) -> yamlfile.Document:
    """The pinned table as a document to check against its schema (InputError when it can't be read)."""
    return yamlfile.load(root / PROFILES_FILE, PROFILES_FILE)


def table(data: dict) -> ProfileTable:
    """The table from its schema-checked data."""
    return ProfileTable(data["checked"], data["source_region"], dict(data["models"]))


def fallback_model_id(spec: dict) -> str | None:
    """The Bedrock ID a models.yaml entry falls back to when its own is throttled (None: no fallback, or a
    fallback to the profile the ID already names: switching the ID to it stays a one-line change)."""
    fallback = spec.get("fallback")
    if not fallback or fallback == bedrock.profile_of(spec["bedrock_model_id"]):
        return None
    return bedrock.with_profile(spec["bedrock_model_id"], fallback)


def _where(s: Any, field: str) -> tuple:
    return ("models", s.key, field)


def profile_offered(s: Any):
    """The model's profile must be one the pinned table says Bedrock offers for it from this region."""
    table: ProfileTable | None = s.profiles
    if table is None:
        return
    model_id = s.spec["bedrock_model_id"]
    base, profile = bedrock.split_profile(model_id)[1], bedrock.profile_of(model_id)
    offered = table.offered(base)
    if s.region != table.source_region:
        yield (_where(s, "bedrock_model_id"), f"{PROFILES_FILE} lists the profiles offered from "
               f"{table.source_region}, not from {s.region}; pin the table for {s.region} first", "error")
    elif offered is None:
        yield (_where(s, "bedrock_model_id"), f"{base} is not in {PROFILES_FILE}: add which profiles Bedrock "
               f"offers for it from {s.region} (and the source, in docs/adr/0001-bedrock-model-ids.md)", "error")
    elif profile not in offered:
        yield (_where(s, "bedrock_model_id"), f"{model_id}: Bedrock offers {base} from {s.region} only as "
               f"{', '.join(sorted(offered))} ({PROFILES_FILE}, checked {table.checked}), not {profile}", "error")


def fallback_allowed(s: Any):
    """A fallback is another offered profile of the same foundation model, priced by the pinned LiteLLM."""
    fallback = s.spec.get("fallback")
    if not fallback:
        return
    model_id = s.spec["bedrock_model_id"]
    base = bedrock.split_profile(model_id)[1]
    offered = s.profiles.offered(base) if s.profiles is not None else None
    if fallback == bedrock.profile_of(model_id):
        yield (_where(s, "fallback"), f"fallback {fallback} is the profile {model_id} already uses: {s.key} has "
               "no fallback (delete the line, or name another profile of the same model)", "warning")
    elif offered is not None and fallback not in offered:
        yield (_where(s, "fallback"), f"fallback {fallback}: Bedrock offers {base} from {s.region} only as "
               f"{', '.join(sorted(offered))} ({PROFILES_FILE}, checked {s.profiles.checked})", "error")


def priced(s: Any):
    """Every ID the model may be served by has a price in the pinned LiteLLM, or budgets would never trip."""
    for field, model_id in (("bedrock_model_id", s.spec["bedrock_model_id"]), ("fallback", fallback_model_id(s.spec))):
        if model_id is not None and bedrock.registry() and bedrock.prices(model_id) is None:
            yield (_where(s, field), f"{model_id} has no input and output price in the pinned LiteLLM's model "
                   "registry: its calls would cost $0 and never trip a budget", "error")


def end_of_life(s: Any):
    """A warning within EOL_WARNING_DAYS of the model's published Bedrock end of life, an error from that day."""
    if s.profiles is None:
        return
    base = bedrock.split_profile(s.spec["bedrock_model_id"])[1]
    eol = s.profiles.end_of_life(base)
    if eol is None:
        return
    days = (eol - s.today).days
    if days <= 0:  # plan and apply (allow_expired) still run: a retired model must not block revocations
        yield (_where(s, "bedrock_model_id"), f"{base} reached its Bedrock end of life on {eol} (today is "
               f"{s.today}; {PROFILES_FILE}): calls fail; move {s.key} to a current model",
               "warning" if s.allow_expired else "error")
    elif days <= EOL_WARNING_DAYS:
        yield (_where(s, "bedrock_model_id"), f"{base} reaches its Bedrock end of life on {eol}, in {days} days "
               f"({PROFILES_FILE}): plan the move of {s.key} to a current model", "warning")
