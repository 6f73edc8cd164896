"""The fields of users/ and policies/tiers.yaml as LiteLLM holds them, read from one table.

The table is the field declarations of policy.User and policy.Tier (`mapped(litellm=...)` or
`mapped(metadata=...)`), plus the few values LiteLLM must hold whatever the files say (below).
Everything that moves a field between git and LiteLLM goes through here: the loader
(`from_yaml`), the plan's desired and live values and the bodies it sends (`desired`, `live`,
`body`, `metadata`), and `gatewayctl import` (`to_yaml`). A new field therefore touches the
schema, its declaration and the tests (tests/test_mapping.py shows it), nothing else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import Any

from reconciler.desired.policy import BUDGET_DURATION, Sync, Tier, User

USER_MODELS = ["no-default-models"]
# The least role whose keys can call models: measured on LiteLLM 1.108.7, an internal_user_viewer's key
# gets 200 on /v1/chat/completions and 401 on /key/generate and /key/delete (tests/test_escalation.py).
USER_ROLE = "internal_user_viewer"

# What LiteLLM must hold for every managed user and tier team, whatever the files say.
FIXED: dict[type, dict[str, Any]] = {
    User: {"models": USER_MODELS, "user_role": USER_ROLE},
    Tier: {"team_member_budget_duration": BUDGET_DURATION},
}


def _normal(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# The three below are asked once per user by plan and by reading live state: a class's fields never
# change while the process runs, so each is worked out once per class (dataclasses.fields is slow).
@functools.cache
def fields(cls: type) -> tuple[tuple[str, Sync], ...]:
    """(field name, declaration) of every field of `cls`, in declaration order."""
    return tuple((f.name, f.metadata["sync"]) for f in dataclasses.fields(cls))


@functools.cache
def synced(cls: type) -> tuple[tuple[str, Sync], ...]:
    """The fields LiteLLM holds and plan compares: not the identity, not the ones that stay in git."""
    return tuple((name, s) for name, s in fields(cls) if (s.litellm or s.metadata) and not s.identity)


@functools.cache
def litellm_names(cls: type) -> tuple[str, ...]:
    """The top-level LiteLLM fields the table names for `cls` (what reading live state keeps)."""
    return tuple(s.litellm for _, s in synced(cls) if s.litellm) + tuple(FIXED[cls])


def desired(obj: Any) -> dict[str, Any]:
    """What LiteLLM should hold for `obj`, by LiteLLM field or metadata key, as plan compares it."""
    out = {s.litellm or s.metadata: s.compare(getattr(obj, name)) for name, s in synced(type(obj))}
    return {**out, **{k: _normal(v) for k, v in FIXED[type(obj)].items()}}


def live(cls: type, top: dict[str, Any], metadata: dict[str, Any]) -> dict[str, Any]:
    """What LiteLLM holds (its top-level fields `top` and its `metadata`), keyed and shaped like `desired`."""
    out = {}
    for _, s in synced(cls):
        out[s.litellm or s.metadata] = s.compare(top.get(s.litellm) if s.litellm else metadata.get(s.metadata))
    return {**out, **{k: _normal(top.get(k)) for k in FIXED[cls]}}


def body(obj: Any) -> dict[str, Any]:
    """The top-level fields of a create or update request for `obj` (without its id and metadata)."""
    out = {s.litellm: s.wire(getattr(obj, name)) for name, s in synced(type(obj)) if s.litellm}
    return {**out, **FIXED[type(obj)]}


def metadata(obj: Any) -> dict[str, Any]:
    """The metadata keys the table declares for `obj`, as sent."""
    return {s.metadata: s.wire(getattr(obj, name)) for name, s in synced(type(obj)) if s.metadata}


def diff(have: dict[str, Any], want: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(name, live, desired) for every value that differs."""
    return [(k, have.get(k), v) for k, v in want.items() if have.get(k) != v]


def from_yaml(cls: type, data: dict[str, Any], **given: Any) -> Any:
    """An instance of `cls` from a schema-valid mapping; `given` sets the fields the loader decides.
    An optional field absent from the file is None (or its declared default)."""
    kwargs = dict(given)
    for name, s, required in _from_file(cls):
        if name in given:
            continue
        if name in data:
            kwargs[name] = s.parse(data[name])
        elif required:
            kwargs[name] = None
    return cls(**kwargs)


@functools.cache
def _from_file(cls: type) -> tuple[tuple[str, Sync, bool], ...]:
    """(name, declaration, has no default) of every field of `cls` read from the file."""
    return tuple((f.name, f.metadata["sync"], f.default is dataclasses.MISSING)
                 for f in dataclasses.fields(cls) if f.metadata["sync"].yaml)


def to_yaml(cls: type, ident: str, top: dict[str, Any], metadata: dict[str, Any], *,
            today: dt.date, override: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """A users/ mapping for an object LiteLLM holds (`gatewayctl import`), in the file's field order:
    LiteLLM's value, else the declared placeholder. None when a required value is unknown."""
    override = override or {}
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        name, s = f.name, f.metadata["sync"]
        if not s.yaml:
            continue
        if s.identity:
            value = ident
        elif name in override:
            value = override[name]
        elif s.litellm:
            value = top.get(s.litellm)
        elif s.metadata:
            value = metadata.get(s.metadata)
        else:
            value = None
        if not value and s.placeholder is not None:
            value = s.placeholder.format(id=ident, today=today)
        if value:
            out[name] = _normal(value)
        elif (s.litellm or s.metadata) and f.default is dataclasses.MISSING:
            return None  # a required value LiteLLM does not have (say, no email): not importable
    return out
