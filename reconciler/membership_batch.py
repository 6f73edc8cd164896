"""Tier memberships added in lists: one /team/member_add call per batch of users, per tier.

LiteLLM 1.108.7 rewrites the tier's team row (`members_with_roles`, every member) inside a
5-second interactive transaction on each /team/member_add, so adding members one call at a
time costs O(team size) per user and slows apply down as tiers grow. A list of members costs
one rewrite per call. What each call really did is checked, never assumed:

- the answer's `updated_team_memberships` names the memberships the call created;
- a requested user missing there was already a member (LiteLLM skips those, and answers 400
  "All users are already in team" when every one of them was): those are confirmed against the
  team's membership rows (one /team/info call), because a retried call can be told "already"
  after its first attempt was rolled back;
- a batch that fails (under load LiteLLM's 5 s transaction can expire: 503) is retried once, then
  split in half, and later batches stay at the smaller size until a few succeed in a row; a single
  user that still fails gets the client's full retries and then fails alone.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.client import AdminClient, GatewayError

DEFAULT_BATCH = 100  # what LiteLLM's row rewrite handles well inside its 5 s transaction (docs/performance.md)


def _members_in_team(client: AdminClient, team_id: str) -> set[str]:
    info = client.get("/team/info", team_id=team_id, key_limit=1)
    return {m["user_id"] for m in info.get("team_memberships") or []}


def add_members(client: AdminClient, team_id: str, user_ids: list[str], *,
                batch: int = DEFAULT_BATCH, progress: Callable[[int], None] | None = None) -> dict[str, str | None]:
    """Add `user_ids` to `team_id`. Returns user id -> None (member now) or an error message."""
    out: dict[str, str | None] = {}
    pending, size, streak = list(user_ids), max(1, batch), 0
    while pending:
        chunk, pending = pending[:size], pending[size:]
        try:
            body = client.post("/team/member_add", {"team_id": team_id,
                                                    "member": [{"user_id": u, "role": "user"} for u in chunk]},
                               retries=1 if len(chunk) > 1 else None)
            created = {m.get("user_id") for m in body.get("updated_team_memberships") or []}
        except GatewayError as exc:
            if exc.status == 400 and "already" in exc.detail.lower():
                created = set()
            elif len(chunk) > 1:
                size, streak = max(1, len(chunk) // 2), 0
                pending = chunk + pending
                continue
            else:
                out[chunk[0]] = str(exc)
                continue
        streak += 1
        if streak >= 3 and size < batch:
            size, streak = min(batch, size * 2), 0
        unconfirmed = [u for u in chunk if u not in created]
        present = _members_in_team(client, team_id) if unconfirmed else set()
        for u in chunk:
            out[u] = None if (u in created or u in present) else (
                f"LiteLLM says {u} is already in {team_id}, but the team has no such membership")
        if progress:
            progress(len(chunk))
    return out
