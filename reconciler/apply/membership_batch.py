"""Tier memberships added in lists: one /team/member_add call per batch of users, per tier.

LiteLLM 1.108.7 rewrites the tier's team row (`members_with_roles`, every member) inside a
5-second interactive transaction on each /team/member_add, so adding members one call at a
time costs O(team size) per user and slows apply down as tiers grow. A list of members costs
one rewrite per call. What each call really did is checked, never assumed, against the users' own
rows, because that is what the next plan reads. A call that succeeds proves it itself: LiteLLM
1.108.7 answers 200 only once its transaction has committed, and lists in `updated_users` each user it
ran add_new_member for, which in that transaction appends the team to the user's row
(`_append_team_id_if_absent`; the row it lists was read before that append, so its `teams` is no
proof). Only the users it does not list are read back (one /user/list?user_ids=... call per batch):
LiteLLM skips members its team row already names, and under load it can answer a retried call "All
users are already in team" while the users' rows never got the team (measured: 100 users of one batch
at 1,000 users, load average 5; tests/test_executor_unit.py). A user whose row lacks the team fails,
and the next apply converges.

A batch that fails (under load LiteLLM's 5 s transaction can expire: 503) is retried once, then
split in half, and later batches stay at the smaller size until three succeed in a row; a single
user that still fails gets the client's full retries and then fails alone.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.live.client import AdminClient, GatewayError
from reconciler.live.state import exact_user_ids

DEFAULT_BATCH = 100  # what LiteLLM's row rewrite handles well inside its 5 s transaction (docs/performance.md)


def _users_in_team(client: AdminClient, team_id: str, user_ids: list[str]) -> set[str]:
    """Which of `user_ids` (at most 100) have `team_id` on their own user row."""
    body = client.get("/user/list", user_ids=exact_user_ids(user_ids), page=1, page_size=max(1, len(user_ids)))
    return {u["user_id"] for u in body.get("users") or [] if team_id in (u.get("teams") or [])}


def add_members(client: AdminClient, team_id: str, user_ids: list[str], *,
                batch: int = DEFAULT_BATCH, progress: Callable[[int], None] | None = None) -> dict[str, str | None]:
    """Add `user_ids` to `team_id`. Returns user id -> None (member now) or an error message."""
    out: dict[str, str | None] = {}
    batch = max(1, min(batch, 100))  # the read-back lists a batch on one /user/list page (100 at most)
    pending, size, streak = list(user_ids), batch, 0
    while pending:
        chunk, pending = pending[:size], pending[size:]
        try:
            answer = client.post("/team/member_add", {"team_id": team_id,
                                                      "member": [{"user_id": u, "role": "user"} for u in chunk]},
                                 retries=1 if len(chunk) > 1 else None)
        except GatewayError as exc:
            if exc.status == 400 and "already" in exc.detail.lower():
                answer = {}  # every one of them was a member already, says LiteLLM: checked below like the rest
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
        present = {u.get("user_id") for u in (answer or {}).get("updated_users") or []}
        unproven = [u for u in chunk if u not in present]
        if unproven:
            present |= _users_in_team(client, team_id, unproven)
        for u in chunk:
            out[u] = None if u in present else (
                f"/team/member_add answered, but {u}'s user row does not list {team_id}; re-run apply")
        if progress:
            progress(len(chunk))
    return out
