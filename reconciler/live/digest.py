"""The one way gatewayctl names a state or a plan: sha256 over canonical JSON."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any


def json_digest(body: Any, *, default: Callable[[Any], Any] = str) -> str:
    """`sha256:<hex>` of `body` as sorted-key JSON (values JSON cannot hold are written as `default()`,
    str() unless told)."""
    return "sha256:" + hashlib.sha256(json.dumps(body, sort_keys=True, default=default).encode()).hexdigest()


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def dataclass_fields(value: Any) -> Any:
    """A `default` for json_digest that writes a dataclass as the mapping of its fields and anything
    else as str(): the same JSON as dataclasses.asdict() first, without asdict's deep copy of every
    value (a desired state of 10,000 users is hashed on every plan)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: getattr(value, name) for name in _field_names(type(value))}
    return str(value)
