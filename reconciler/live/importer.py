"""`gatewayctl import`: write users/<id>.yaml for users that exist in LiteLLM. Never secrets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from reconciler.desired import mapping, shards
from reconciler.desired.policy import USER_ID, User
from reconciler.live.state import LiveState


def user_yaml(live: LiveState, user_id: str, today: dt.date | None = None) -> str | None:
    u = live.users[user_id]
    tiers = [tier for tier in map(shards.tier_of, u.teams) if tier is not None]  # any team of the tier
    if not USER_ID.match(user_id) or not tiers:
        return None
    # The tier is the team membership that grants it, not the metadata record of it.
    body = mapping.to_yaml(User, user_id, u.fields, u.metadata, today=today or dt.date.today(),
                           override={"tier": tiers[0]})
    if body is None:
        return None
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
