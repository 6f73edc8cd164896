"""The admin-API calls a plan is made of, as data: each step's op, the endpoint it posts to and the
body it sends. Plans name ops from here; the executor (reconciler/apply/executor.py) looks them up here.
Nothing here performs I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

RETIRING_HASH_ARG = "retiring_key_hash"  # key_create argument for the key store (rotation.py), never sent to LiteLLM


class Op(StrEnum):
    TEAM_NEW = "team_new"
    TEAM_UPDATE = "team_update"
    USER_NEW = "user_new"
    USER_UPDATE = "user_update"
    MEMBER_ADD = "member_add"
    MEMBER_DELETE = "member_delete"
    MEMBER_BUDGET_SET = "member_budget_set"
    MEMBER_BUDGET_RESET = "member_budget_reset"
    KEY_CREATE = "key_create"  # the executor mints the raw key and stores it first (reconciler/apply/executor.py)
    KEY_UPDATE = "key_update"
    KEY_DELETE = "key_delete"


Args = dict[str, Any]


def _as_is(args: Args) -> Args:
    return dict(args)


def with_duration(args: Args) -> Args:
    """`expires_at` (absolute, from the plan) -> LiteLLM's relative `duration`, computed when the call
    is made, so applying a saved plan later still expires the key at the planned instant."""
    out = {k: v for k, v in args.items() if k != "expires_at"}
    if "expires_at" in args:
        if args["expires_at"] is None:
            out["duration"] = None
        else:
            end = dt.datetime.fromisoformat(args["expires_at"])
            out["duration"] = f"{max(1, int((end - dt.datetime.now(dt.UTC)).total_seconds()))}s"
    return out


def _key_generate(args: Args) -> Args:
    # The retiring key's hash is for the key store only, never sent to LiteLLM.
    return with_duration({k: v for k, v in args.items() if k != RETIRING_HASH_ARG})


def _path_segment(value: str) -> str:
    return quote(value, safe="")


@dataclass(frozen=True)
class Call:
    """How one op is sent: POST `path` (a fixed path, or one built from the step's arguments) with `body`."""

    path: str | Callable[[Args], str]
    body: Callable[[Args], Args] = _as_is

    def path_for(self, args: Args) -> str:
        return self.path if isinstance(self.path, str) else self.path(args)


CALLS: dict[Op, Call] = {
    Op.TEAM_NEW: Call("/team/new"),
    Op.TEAM_UPDATE: Call("/team/update"),
    Op.USER_NEW: Call("/user/new"),
    Op.USER_UPDATE: Call("/user/update"),
    Op.MEMBER_ADD: Call("/team/member_add",
                        lambda a: {"team_id": a["team_id"], "member": {"user_id": a["user_id"], "role": "user"}}),
    Op.MEMBER_DELETE: Call("/team/member_delete"),
    Op.MEMBER_BUDGET_SET: Call("/team/member_update"),
    Op.MEMBER_BUDGET_RESET: Call(
        lambda a: f"/team/{_path_segment(a['team_id'])}/member/{_path_segment(a['user_id'])}/reset_budget",
        lambda a: {}),
    Op.KEY_CREATE: Call("/key/generate", _key_generate),  # plus the raw key the executor minted
    Op.KEY_UPDATE: Call("/key/update", with_duration),
    Op.KEY_DELETE: Call("/key/delete", lambda a: {"keys": a["keys"]}),
}
