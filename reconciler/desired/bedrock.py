"""What Bedrock model IDs exist and where they can be called from, read offline.

Existence comes from the model registry bundled with the pinned litellm package
(`model_prices_and_context_window_backup.json`), found without importing litellm so
`gatewayctl validate` stays fast enough for a pre-commit hook.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from decimal import Decimal
from pathlib import Path

# IDs someone has asked for that must be refused with a reason (docs/adr/0001-bedrock-model-ids.md).
KNOWN_WRONG_IDS: dict[str, str] = {
    "anthropic.claude-4-5-haiku-20241022-v1:0": (
        "does not exist on Bedrock: Claude Haiku 4.5 is anthropic.claude-haiku-4-5-20251001-v1:0 "
        "(20241022 is Claude 3.5 Haiku's date); from ap-south-1 use "
        "global.anthropic.claude-haiku-4-5-20251001-v1:0"
    ),
    "us.anthropic.claude-4-5-sonnet-20241022-v2:0": (
        "does not exist on Bedrock (20241022-v2 is Claude 3.5 Sonnet v2, and Sonnet 4.5 is "
        "anthropic.claude-sonnet-4-5-20250929-v1:0), and us. profiles cannot be called from "
        "ap-south-1; use global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    ),
}

# Inference-profile prefix -> predicate on the calling region.
PROFILE_PREFIXES: dict[str, tuple[str, object]] = {
    "global": ("any region", lambda r: True),
    "us": ("US regions (us-*)", lambda r: r.startswith("us-") and not r.startswith("us-gov-")),
    "us-gov": ("AWS GovCloud (us-gov-*)", lambda r: r.startswith("us-gov-")),
    "eu": ("EU regions (eu-*)", lambda r: r.startswith("eu-")),
    "apac": ("Asia-Pacific regions (ap-*)", lambda r: r.startswith("ap-")),
    "jp": ("Japan (ap-northeast-1, ap-northeast-3)", lambda r: r in ("ap-northeast-1", "ap-northeast-3")),
    "au": ("Australia (ap-southeast-2, ap-southeast-4)", lambda r: r in ("ap-southeast-2", "ap-southeast-4")),
    "ca": ("Canada (ca-*)", lambda r: r.startswith("ca-")),
}

# Claude 4.x on Bedrock has no on-demand throughput: it is only served through inference profiles.
_PROFILE_ONLY = re.compile(r"^anthropic\.claude-(?:(?:sonnet|opus|haiku)-4|4)")


def split_profile(model_id: str) -> tuple[str | None, str]:
    """`global.anthropic.x` -> ("global", "anthropic.x"); a plain model ID -> (None, id)."""
    head, _, rest = model_id.partition(".")
    if head in PROFILE_PREFIXES and rest:
        return head, rest
    return None, model_id


def _registry_path() -> Path | None:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model_prices_and_context_window_backup.json"


@functools.cache
def _entries() -> dict:
    path = _registry_path()
    if path is None or not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def registry() -> frozenset[str]:
    """Bedrock IDs known to the installed litellm; empty if litellm is missing."""
    return frozenset(
        k for k, v in _entries().items()
        if isinstance(v, dict) and str(v.get("litellm_provider", "")).startswith("bedrock") and "/" not in k
    )


def max_output_tokens(model_id: str) -> int | None:
    """The most output tokens the model can produce, per the pinned litellm's registry (None: unknown)."""
    v = _entries().get(model_id)
    return int(v["max_output_tokens"]) if isinstance(v, dict) and v.get("max_output_tokens") else None


def price_entry(model_id: str) -> dict:
    """The model's entry in the pinned litellm's price table (per-token prices, cache prices); {} if unknown."""
    v = _entries().get(model_id)
    return v if isinstance(v, dict) else {}


def worst_request_usd(model_id: str) -> Decimal | None:
    """The most one request can cost at the pinned litellm's prices: the model's whole context window
    in and its maximum output out (what LiteLLM's budget reservation can be asked to reserve)."""
    v = _entries().get(model_id)
    if not isinstance(v, dict) or not v.get("max_input_tokens") or not v.get("max_output_tokens"):
        return None
    rate_in = Decimal(str(v.get("input_cost_per_token") or 0))
    rate_out = max(Decimal(str(v.get("output_cost_per_token") or 0)),
                   Decimal(str(v.get("output_cost_per_reasoning_token") or 0)))
    return int(v["max_input_tokens"]) * rate_in + int(v["max_output_tokens"]) * rate_out


def problems(model_id: str, region: str) -> list[str]:
    """Why `model_id` can't serve traffic from `region` (empty list when it can)."""
    if model_id in KNOWN_WRONG_IDS:
        return [KNOWN_WRONG_IDS[model_id]]
    found: list[str] = []
    known = registry()
    if not known:
        found.append("cannot check the ID: litellm's model registry is not installed (run `make setup`)")
    elif model_id not in known:
        found.append(
            "is not in the model registry of the pinned litellm package, so it does not exist on "
            "Bedrock or litellm cannot price it (budgets would never trip)"
        )
    prefix, base = split_profile(model_id)
    if prefix is None and _PROFILE_ONLY.match(base):
        found.append(f"Claude 4.x models are served on Bedrock only through inference profiles; use global.{base}")
    if prefix is not None:
        where, allowed = PROFILE_PREFIXES[prefix]
        if not allowed(region):  # type: ignore[operator]
            found.append(
                f"the {prefix}. inference profile can be called only from {where}, not from {region}; "
                f"use global.{base} if it exists"
            )
    return found


IN_REGION = "in-region"  # the profile name for a bare model ID, served on demand in the calling region


def profile_of(model_id: str) -> str:
    """The profile a model ID names: its prefix (`global`, `apac`, ...), or `in-region` for a bare ID."""
    return split_profile(model_id)[0] or IN_REGION


def with_profile(model_id: str, profile: str) -> str:
    """The ID of the same foundation model through `profile`: ("global.anthropic.x", "apac") -> "apac.anthropic.x"."""
    base = split_profile(model_id)[1]
    return base if profile == IN_REGION else f"{profile}.{base}"


def prices(model_id: str) -> tuple[Decimal, Decimal] | None:
    """USD per input and per output token at the pinned litellm's prices; None when it has no price."""
    v = _entries().get(model_id)
    if not isinstance(v, dict) or not v.get("input_cost_per_token") or not v.get("output_cost_per_token"):
        return None
    return Decimal(str(v["input_cost_per_token"])), Decimal(str(v["output_cost_per_token"]))
