"""`gatewayctl guardrails --base REF`: what a change does to the tiers' Bedrock guardrails, for the PR comment.

LiteLLM holds no guardrail (Terraform creates them from policies/tiers.yaml), so `gatewayctl plan` against
the live gateway cannot see such a change; scripts/ci/pr-plan adds this section to the plan instead. It
compares policies/tiers.yaml in the working tree (the pull request's, already validated) with the file at
REF (the base branch)."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from reconciler.desired import guardrails
from reconciler.desired.rules import TIERS_FILE
from reconciler.errors import EXIT_OK, GatewayctlError
from reconciler.git import GitError, git


def _by_tier(text: str | None) -> dict[str, guardrails.Guardrail | None]:
    tiers = (yaml.safe_load(text) or {}).get("tiers") or {} if text else {}
    return {key: guardrails.parse(spec.get("guardrail")) for key, spec in tiers.items()}


def at(root: Path, ref: str) -> dict[str, guardrails.Guardrail | None]:
    """Each tier's guardrail in policies/tiers.yaml at `ref` (none when the file is not there)."""
    try:
        git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitError:
        raise GatewayctlError(f"--base {ref}: not a revision of this repository") from None
    try:
        return _by_tier(git(root, "show", f"{ref}:./{TIERS_FILE}"))
    except GitError:  # no tiers file at the base
        return {}


def markdown(before: dict, after: dict) -> str:
    lines = guardrails.changes(before, after)
    if not lines:
        return ""
    return "\n".join(["", "#### Guardrail changes (policies/tiers.yaml; Terraform makes a new guardrail version)", "",
                      *lines]) + "\n"


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base", metavar="GIT_REF", required=True, help="the revision to compare with, e.g. origin/main")


def run(args: argparse.Namespace) -> int:
    text = (args.root / TIERS_FILE).read_text(encoding="utf-8")
    print(markdown(at(args.root, args.base), _by_tier(text)), end="")
    return EXIT_OK
