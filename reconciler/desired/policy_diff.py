"""What a change of policies/models.yaml (or of a tier's models and budget) does to each tier's prices:
the price per million input and output tokens before and after, and what a member's monthly budget buys,
at the pinned LiteLLM's prices (reconciler/desired/bedrock.py). `gatewayctl price-review --base REF`
prints it as markdown; scripts/ci/pr-plan appends it to the pull request's plan comment.

Base and head are read as plain data (the base from git, the head from the working tree), so any job that
has both can reuse `policies_at`/`policies_in` and `tier_prices`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import yaml

from reconciler.desired import bedrock, residency
from reconciler.errors import EXIT_OK, GatewayctlError
from reconciler.git import GitError, git

FILES = {"models": "policies/models.yaml", "tiers": "policies/tiers.yaml"}
# A typical request: a drafting or coding turn of about 1,500 words in and 375 out.
TYPICAL_INPUT_TOKENS = 2_000
TYPICAL_OUTPUT_TOKENS = 500
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Price:
    """One tier model's price: the Bedrock ID a call is billed at, USD per million tokens in and out."""

    alias: str
    model_id: str
    per_million_in: Decimal | None
    per_million_out: Decimal | None
    fallback_id: str | None = None

    @classmethod
    def of(cls, alias: str, model_id: str, fallback_id: str | None) -> Price:
        rates = bedrock.prices(model_id)
        if rates is None:
            return cls(alias, model_id, None, None, fallback_id)
        return cls(alias, model_id, rates[0] * MILLION, rates[1] * MILLION, fallback_id)

    def requests_for(self, budget: Decimal | None) -> int | None:
        """How many typical requests `budget` buys at this price (None: unknown)."""
        if budget is None or self.per_million_in is None or self.per_million_out is None:
            return None
        cost = (TYPICAL_INPUT_TOKENS * self.per_million_in + TYPICAL_OUTPUT_TOKENS * self.per_million_out) / MILLION
        return int((budget / cost).to_integral_value(ROUND_FLOOR)) if cost else None


def policies_at(root: Path, ref: str) -> dict[str, dict]:
    """policies/models.yaml and policies/tiers.yaml at git revision `ref` ({} for a file it lacks)."""
    out = {}
    for name, path in FILES.items():
        try:
            out[name] = yaml.safe_load(git(root, "show", f"{ref}:{path}")) or {}
        except GitError:
            out[name] = {}
    return out


def policies_in(root: Path) -> dict[str, dict]:
    """The same files in the working tree."""
    return {name: yaml.safe_load((root / path).read_text(encoding="utf-8")) or {} for name, path in FILES.items()}


def tier_prices(policies: dict[str, dict]) -> dict[str, tuple[Decimal | None, list[Price]]]:
    """Per tier: its monthly member budget and the price of each of its models."""
    models = (policies.get("models") or {}).get("models") or {}
    out = {}
    for key, tier in ((policies.get("tiers") or {}).get("tiers") or {}).items():
        budget = tier.get("monthly_budget_usd")
        prices = [Price.of(alias, models[alias]["bedrock_model_id"], residency.fallback_model_id(models[alias]))
                  for alias in tier.get("models") or () if alias in models]
        out[key] = (None if budget is None else Decimal(str(budget)), prices)
    return out


def _money(value: Decimal | None) -> str:
    if value is None:
        return "unpriced"
    cents = value.quantize(Decimal("0.01"))
    return f"${cents}" if cents == value else f"${value.normalize():f}"


def _change(before: str, after: str) -> str:
    return after if before == after else f"{before} → **{after}**"


def _row(tier: str, before: tuple, after: tuple, alias: str) -> str | None:
    (budget_b, prices_b), (budget_a, prices_a) = before, after
    b = next((p for p in prices_b if p.alias == alias), None)
    a = next((p for p in prices_a if p.alias == alias), None)
    if a is None or (b is not None and (b, budget_b) == (a, budget_a)):
        return None  # removed from the tier (the plan shows that), or unchanged
    b = b or a
    served = _change(f"`{b.model_id}`", f"`{a.model_id}`")
    if a.fallback_id or b.fallback_id:
        served += " (fallback " + _change(f"`{b.fallback_id or 'none'}`", f"`{a.fallback_id or 'none'}`") + ")"
    buys = [p.requests_for(budget) for p, budget in ((b, budget_b), (a, budget_a))]
    buys_text = ["?" if n is None else f"{n:,}" for n in buys]
    return (f"| {tier} | {alias} | {served} | {_change(_money(b.per_million_in), _money(a.per_million_in))} | "
            f"{_change(_money(b.per_million_out), _money(a.per_million_out))} | "
            f"{_change(_money(budget_b), _money(budget_a))} | {_change(*buys_text)} |")


def price_review(base: dict[str, dict], head: dict[str, dict]) -> str:
    """The markdown section for a change from `base` to `head` policies; empty when no tier's prices changed."""
    before, after = tier_prices(base), tier_prices(head)
    rows = [row for tier in sorted(after) for price in after[tier][1]
            if (row := _row(tier, before.get(tier, (None, [])), after[tier], price.alias))]
    if not rows:
        return ""
    return "\n".join([
        "### Model prices per tier",
        "",
        f"At the pinned LiteLLM's prices (USD per million tokens). A typical request is {TYPICAL_INPUT_TOKENS:,} "
        f"input and {TYPICAL_OUTPUT_TOKENS:,} output tokens; a call served by a fallback is billed at the "
        "fallback's price.",
        "",
        "| Tier | Model | Bedrock ID | Input | Output | Member budget / month | Typical requests it buys |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ])


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base", metavar="GIT_REF", required=True,
                   help="the revision the change is compared with (a pull request's base, e.g. origin/main)")


def run(args: argparse.Namespace) -> int:
    try:
        head = policies_in(args.root)
    except (OSError, yaml.YAMLError) as exc:
        raise GatewayctlError(f"cannot read the policies: {exc}") from None
    git(args.root, "rev-parse", "--verify", "--quiet", f"{args.base}^{{commit}}")  # an unknown base is an error
    text = price_review(policies_at(args.root, args.base), head)
    if text:
        print(text)
    return EXIT_OK
