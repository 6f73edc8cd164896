"""Scheduled key rotation with an overlap window (policies/tiers.yaml: `key_max_age_days`).

A member's key is due once it is `key_max_age_days` old, counted on the plan's clock (`--today`)
from the `gitops_issued_on` date gatewayctl writes into each key it mints (LiteLLM's `created_at`
for keys minted before that field existed). Rotating a due key takes two steps, each safe to
repeat after a crash:

1. the old key is renamed `<alias>~retiring`, marked `gitops_retire_after: <date>` and given
   LiteLLM's own `expires` at the end of that date (Asia/Kolkata), so it stops on time even if
   no run follows;
2. a new key is minted, written to the key store first (Secrets Manager then keeps the old value
   as AWSPREVIOUS) together with the old key's hash as the secret's retiring-hash tag, and
   registered in LiteLLM under the user's alias.

The old key keeps working through the window; the first run after it deletes the key. As for the
current key, the key store, not the key's metadata, decides: a key counts as retiring only if its
hash is the one the user's secret records as retiring (a key that merely claims
`gitops_retire_after` is an extra key, and is removed). Nothing here performs I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from reconciler.live.state import LiveKey
from reconciler.plan.steps import RETIRING_HASH_ARG, Op

__all__ = ["RETIRING_HASH_ARG", "RotationPolicy", "due_reason", "only_rotations", "retire_after", "split_retiring"]

ISSUED_ON = "gitops_issued_on"  # key metadata: the plan date the key was minted (YYYY-MM-DD)
RETIRE_AFTER = "gitops_retire_after"  # key metadata: last day a retiring key works (YYYY-MM-DD)
RETIRING_SUFFIX = "~retiring"
ROTATION_KINDS = frozenset({"rotate", "retire"})
KEY_OPS = frozenset({Op.KEY_UPDATE, Op.KEY_CREATE, Op.KEY_DELETE})


@dataclass(frozen=True)
class RotationPolicy:
    max_age_days: int | None  # None: no scheduled rotation
    overlap_days: int


def _date(text: object) -> dt.date | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def issued_on(key: LiveKey) -> dt.date | None:
    return _date(key.metadata.get(ISSUED_ON)) or _date(key.created_at)


def retire_after(key: LiveKey) -> dt.date | None:
    return _date(key.metadata.get(RETIRE_AFTER))


def due_reason(key: LiveKey, policy: RotationPolicy | None, today: dt.date | None) -> str | None:
    """Why `key` must be rotated now, or None when it may stay."""
    if policy is None or policy.max_age_days is None or today is None:
        return None
    born = issued_on(key)
    if born is None:
        return None
    age = (today - born).days
    if age < policy.max_age_days:
        return None
    return f"key is {age} days old, tier maximum {policy.max_age_days}"


def window_end(policy: RotationPolicy, today: dt.date) -> dt.date:
    """The last day a key retired today keeps working."""
    return today + dt.timedelta(days=policy.overlap_days)


def split_retiring(keys: list[LiveKey], secret_hash: str | None, retiring_hash: str | None,
                   today: dt.date | None) -> tuple[list[LiveKey], list[LiveKey], list[LiveKey]]:
    """(retiring keys inside their window, retiring keys past it, all other keys).

    Only the key whose hash the key store records as retiring can be retiring. A key whose value
    is the one the store holds is never "retiring", whatever its marker says: a crash between
    renaming it and storing its successor left it there, and the rotation simply runs again."""
    inside, past, rest = [], [], []
    for k in keys:
        until = retire_after(k)
        if until is None or k.token == secret_hash or k.token != retiring_hash:
            rest.append(k)
        elif today is not None and today > until:
            past.append(k)
        else:
            inside.append(k)
    return inside, past, rest


def only_rotations(actions: list) -> tuple[list, int]:
    """Of the actions that are not a user's (tiers, the plan-viewer's key), those the nightly job
    may apply on its own (a rotation of the key, or a repair of its delivery), and how many others
    it leaves for the deploy job. A user's part is worked out with the user's action
    (reconciler/plan/processors.py, nightly_part)."""
    keep = [a for a in actions if a.kind in ROTATION_KINDS and {s.op for s in a.steps} <= KEY_OPS]
    return keep, len(actions) - len(keep)
