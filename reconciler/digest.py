"""The one way gatewayctl names a state or a plan: sha256 over canonical JSON."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def json_digest(body: Any) -> str:
    """`sha256:<hex>` of `body` as sorted-key JSON (values JSON cannot hold are written as str())."""
    return "sha256:" + hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
