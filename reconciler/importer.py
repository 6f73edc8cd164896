"""`gatewayctl import`: write users/<id>.yaml for users that exist in LiteLLM. Never secrets."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml

from reconciler.live import LiveState
from reconciler.policy import TEAM_PREFIX

_ID = re.compile(r"^[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*$")


def user_yaml(live: LiveState, user_id: str) -> str | None:
    u = live.users[user_id]
    tiers = [t.removeprefix(TEAM_PREFIX) for t in u.teams if t.startswith(TEAM_PREFIX)]
    if not _ID.match(user_id) or not tiers or not u.email:
        return None
    body = {
        "id": user_id,
        "name": u.alias or user_id,
        "email": u.email,
        "tier": tiers[0],
        "owner": u.metadata.get("owner") or "unknown-approver@example.com",
        "cost_center": u.metadata.get("cost_center") or "UNASSIGNED",
        "justification": f"Imported from LiteLLM on {dt.date.today()}; replace with the real justification.",
    }
    return "# yaml-language-server: $schema=../schemas/user.schema.json\n" + yaml.safe_dump(
        body, sort_keys=False, allow_unicode=True)


def write_imports(root: Path, live: LiveState, *, only_unmanaged: bool, overwrite: bool) -> list[str]:
    written = []
    for user_id in sorted(live.users):
        if only_unmanaged and live.users[user_id].managed:
            continue
        text = user_yaml(live, user_id)
        target = root / "users" / f"{user_id}.yaml"
        if text is None or (target.exists() and not overwrite):
            continue
        target.write_text(text, encoding="utf-8")
        written.append(f"users/{user_id}.yaml")
    return written
