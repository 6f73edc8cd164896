"""What a plan is: actions made of steps, and the plan file that holds them (`plan --out`).

Each action is a user-facing change (create, update, move tier, rotate, revoke) made of steps:
single admin-API calls, each computed from the live state so that re-planning after a crash
yields exactly the steps still missing. Nothing here performs I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from reconciler import __version__
from reconciler.errors import GatewayctlError
from reconciler.plan.steps import Op

FORMAT_VERSION = 2

# Every kind of action: its place in a plan and its symbol in plan output. Tiers come first (users
# need their team), then creates, updates, moves and rotations, then revocations and prunes; a report
# (out-of-band, settled by a person) is never applied.
ACTION_KINDS: dict[str, tuple[int, str]] = {
    "create-tier": (0, "+"), "update-tier": (1, "~"), "create": (2, "+"), "adopt": (2, "&"), "move": (3, ">"),
    "update": (3, "~"), "end-carry": (3, "~"), "rotate": (3, "@"), "retire": (3, "-"), "revoke": (4, "-"),
    "prune": (5, "x"), "report": (6, "!"),
}


@dataclass
class Step:
    op: Op  # what it calls: reconciler/plan/steps.py
    args: dict[str, Any]


@dataclass
class Action:
    kind: str  # a key of ACTION_KINDS
    target: str
    reason: str = ""
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    key_hashes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # destructive changes by kind (reconciler.plan.limits)

    def __post_init__(self) -> None:
        if self.kind not in ACTION_KINDS:
            raise ValueError(f"unknown action kind {self.kind!r}")


def _actions(items: list[dict]) -> list[Action]:
    return [Action(kind=a["kind"], target=a["target"], reason=a.get("reason", ""),
                   changes=[tuple(c) for c in a["changes"]],
                   steps=[Step(Op(s["op"]), s["args"]) for s in a["steps"]],
                   key_hashes=a.get("key_hashes", []), counts=a.get("counts", {})) for a in items]


@dataclass
class Plan:
    actions: list[Action]
    warnings: list[str]
    desired_digest: str
    live_digest: str
    git_commit: str
    managed_key_count: int
    revocation_count: int
    refused: str | None = None
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    # Access no file grants (reconciler/plan/outofband.py): drift, but not applied (prunes need --prune-unmanaged).
    out_of_band: list[Action] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # destructive changes in `actions`, by kind
    inputs: dict[str, Any] = field(default_factory=dict)  # what the plan was asked to do (apply checks them)
    overrides: list[str] = field(default_factory=list)  # safety-limit flags in force
    tool_version: str = __version__  # the gatewayctl that made the plan

    @property
    def has_changes(self) -> bool:
        """Drift: something to apply, or access outside git that someone must settle."""
        return bool(self.actions or self.out_of_band)

    def to_json(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "gatewayctl_version": self.tool_version,
            "created_at": self.created_at,
            "git_commit": self.git_commit,
            "desired_digest": self.desired_digest,
            "live_digest": self.live_digest,
            "managed_key_count": self.managed_key_count,
            "revocation_count": self.revocation_count,
            "refused": self.refused,
            "summary": summary(self.actions),
            "counts": self.counts,
            "inputs": self.inputs,
            "overrides": self.overrides,
            "warnings": self.warnings,
            "actions": [asdict(a) for a in self.actions],
            "out_of_band": [asdict(a) for a in self.out_of_band],
        }

    @classmethod
    def from_json(cls, data: dict) -> Plan:
        """A plan file; what a report adds to it (reconciler/plan/review.py) is not part of the plan."""
        if data.get("format_version") != FORMAT_VERSION:
            raise GatewayctlError(f"unsupported plan format_version {data.get('format_version')!r}")
        return cls(actions=_actions(data["actions"]), warnings=data["warnings"],
                   desired_digest=data["desired_digest"], live_digest=data["live_digest"],
                   git_commit=data["git_commit"], managed_key_count=data["managed_key_count"],
                   revocation_count=data["revocation_count"], refused=data.get("refused"),
                   created_at=data["created_at"], out_of_band=_actions(data.get("out_of_band", [])),
                   counts=data.get("counts", {}), inputs=data.get("inputs", {}), overrides=data.get("overrides", []),
                   tool_version=data.get("gatewayctl_version", "unknown"))


def summary(actions: list[Action]) -> dict[str, int]:
    out: dict[str, int] = {}
    for a in actions:
        out[a.kind] = out.get(a.kind, 0) + 1
    return out
