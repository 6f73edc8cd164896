"""A fake of LiteLLM 1.108.7's admin API, the part gatewayctl calls, in memory, on httpx.MockTransport.

Like peribolos' fake GitHub client, it keeps the state the real service would keep and fails on
cue, so unit tests can drive the client's retries, the executor's recoveries, partial failures and
the journal without a proxy. What it models, and nothing more:

- users, teams, each team's default member budget row, per-member budget rows, memberships and keys,
  shaped as LiteLLM answers them on the endpoints reconciler/live/state.py reads (paged lists included);
- the writes the executor sends (reconciler/plan/steps.py), with LiteLLM's semantics where gatewayctl
  depends on them: /key/update and /user/update replace `metadata` wholesale, key aliases are unique,
  /team/member_add refuses members already in the team with LiteLLM's 400 "already in team", and
  /team/member_delete also deletes the user's keys in that team.

tests/test_fake_litellm.py::test_the_fake_reads_like_the_genuine_proxy applies the same plan to
the fake and to the genuine proxy and checks that reconciler.live.state reads the same state from both.

Faults (`fail()`): answer a status (with Retry-After), raise a transport error (connect refused,
read timeout), or let the write happen and then answer an error, as a load balancer's 502 after the
proxy committed does. Every request is recorded in `requests`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

from reconciler.live.client import DEFAULT_POLICY, AdminClient, RequestPolicy

MASTER_KEY = "sk-fake-master-key"  # pragma: allowlist secret
DEFAULT_USER = "default_user_id"  # the master key's identity
BASE_URL = "http://127.0.0.1:4000"


class _Answer(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Fault:
    method: str
    path: str
    times: int = 1  # how many matching requests it hits
    status: int | None = None  # answer this status ...
    retry_after: str | None = None  # ... with this Retry-After header
    error: type[BaseException] | None = None  # or raise this (a transport error, or an interruption)
    message: str = "injected fault"  # the error message of the answer
    after_commit: bool = False  # do the write first, then answer the fault
    when: Callable[[dict], bool] | None = None  # only requests whose JSON body (or query) matches
    hits: int = 0


@dataclass
class FakeLiteLLM:
    users: dict[str, dict] = field(default_factory=dict)
    teams: dict[str, dict] = field(default_factory=dict)
    budgets: dict[str, dict] = field(default_factory=dict)
    memberships: dict[tuple[str, str], dict] = field(default_factory=dict)  # (team, user) -> row
    keys: dict[str, dict] = field(default_factory=dict)  # token -> key
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    spend_logs: list[dict] = field(default_factory=list)  # rows as /spend/logs/v2 answers them (startTime, spend, user)
    faults: list[Fault] = field(default_factory=list)
    slept: list[float] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------------ harness

    def client(self, policy: RequestPolicy = DEFAULT_POLICY) -> AdminClient:
        """gatewayctl's own client, talking to this fake. It does not sleep between retries: the delays
        it would have slept are appended to `slept`."""
        return AdminClient(BASE_URL, MASTER_KEY, policy=policy, transport=httpx.MockTransport(self.handle),
                           sleep=self.slept.append)

    def _spend_logs(self, query: dict) -> dict:
        """LiteLLM's OSS spend-log list: start_date/end_date inclusive, to the second, UTC; paged; by startTime."""
        start, end = query["start_date"].replace(" ", "T"), query["end_date"].replace(" ", "T")
        rows = sorted((r for r in self.spend_logs if start <= r["startTime"][:19] <= end),
                      key=lambda r: r["startTime"])
        page, size = int(query.get("page", 1)), int(query.get("page_size", 50))
        return {"data": rows[(page - 1) * size: page * size], "total": len(rows), "page": page,
                "page_size": size, "total_pages": -(-len(rows) // size)}

    def fail(self, method: str, path: str, **kwargs) -> Fault:
        fault = Fault(method, path, **kwargs)
        self.faults.append(fault)
        return fault

    def calls(self, method: str | None = None, path: str | None = None) -> list[tuple[str, str, Any]]:
        return [r for r in self.requests if (method is None or r[0] == method) and (path is None or r[1] == path)]

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path)
        body = json.loads(request.content) if request.content else None
        query = dict(request.url.params)
        self.requests.append((request.method, path, body if request.method != "GET" else query))
        if request.headers.get("authorization") != f"Bearer {MASTER_KEY}":
            return _error(401, "Authentication Error, invalid key")
        fault = self._fault(request.method, path, body if body is not None else query)
        if fault is not None and fault.error is not None:
            if issubclass(fault.error, httpx.TransportError):
                raise fault.error("injected", request=request)
            raise fault.error()
        if fault is not None and not fault.after_commit:
            return _error(fault.status or 500, fault.message, fault.retry_after)
        try:
            answer = self._route(request.method, path, body or {}, query)
        except _Answer as exc:
            answer = _error(exc.status, exc.message)
        if fault is not None:  # after_commit: the write happened; the caller sees an error anyway
            return _error(fault.status or 502, fault.message, fault.retry_after)
        return answer

    def _fault(self, method: str, path: str, data: dict) -> Fault | None:
        for f in self.faults:
            if f.method == method and f.path == path and f.hits < f.times and (f.when is None or f.when(data)):
                f.hits += 1
                return f
        return None

    # ------------------------------------------------------------------ routing

    def _route(self, method: str, path: str, body: dict, query: dict) -> httpx.Response:
        if method == "GET":
            handler = {"/budget/list": self._budget_list, "/v2/team/list": self._team_list,
                       "/team/info": self._team_info, "/user/list": self._user_list, "/user/info": self._user_info,
                       "/key/list": self._key_list, "/spend/logs/v2": self._spend_logs}.get(path)
            if handler is None:
                raise _Answer(404, f"no route GET {path}")
            return httpx.Response(200, json=handler(query))
        parts = path.strip("/").split("/")
        if len(parts) == 5 and parts[0] == "team" and parts[2] == "member" and parts[4] == "reset_budget":
            return httpx.Response(200, json=self._reset_budget(parts[1], parts[3]))
        handler = {"/user/new": self._user_new, "/user/update": self._user_update, "/team/new": self._team_new,
                   "/team/update": self._team_update, "/team/member_add": self._member_add,
                   "/team/member_delete": self._member_delete, "/team/member_update": self._member_update,
                   "/key/generate": self._key_generate, "/key/update": self._key_update,
                   "/key/delete": self._key_delete}.get(path)
        if handler is None:
            raise _Answer(404, f"no route POST {path}")
        return httpx.Response(200, json=handler(body))

    # ------------------------------------------------------------------ reads

    def _budget_list(self, q: dict) -> list[dict]:
        return list(self.budgets.values())

    def _team_list(self, q: dict) -> dict:
        return _page(sorted(self.teams.values(), key=lambda t: t["team_id"]), "teams", q, "page_size")

    def _team_info(self, q: dict) -> dict:
        team = self._team(q["team_id"])
        default = team["metadata"].get("team_member_budget_id")
        rows = []
        for (team_id, _user), m in sorted(self.memberships.items()):
            if team_id == team["team_id"]:
                rows.append({**m, "litellm_budget_table": self.budgets.get(m["budget_id"] or ""),
                             "budget_source": ("custom" if m["budget_id"] not in (None, default)
                                               else "team_default" if default else "none")})
        return {"team_id": team["team_id"], "team_info": team, "keys": [], "team_memberships": rows}

    def _user_list(self, q: dict) -> dict:
        users = sorted(self.users.values(), key=lambda u: u["user_id"])
        if q.get("user_ids"):
            wanted = [i.strip() for i in q["user_ids"].split(",") if i.strip()]
            if len(wanted) == 1:  # LiteLLM 1.108.7: one id is a case-insensitive substring, more an exact list
                users = [u for u in users if wanted[0].lower() in u["user_id"].lower()]
            else:
                users = [u for u in users if u["user_id"] in set(wanted)]
        return _page(users, "users", q, "page_size")

    def _user_info(self, q: dict) -> dict:
        user = self.users.get(q["user_id"])
        if user is None:
            raise _Answer(404, f"User {q['user_id']} not found")
        return {"user_id": user["user_id"], "user_info": user, "keys": [], "teams": list(user["teams"])}

    def _key_list(self, q: dict) -> dict:
        keys = sorted(self.keys.values(), key=lambda k: k["created_at"])
        for name in ("key_alias", "user_id", "team_id"):
            if q.get(name):
                keys = [k for k in keys if k[name] == q[name]]
        out = _page(keys, "keys", q, "size", total="total_count")
        if q.get("return_full_object") != "true":
            out["keys"] = [k["token"] for k in out["keys"]]
        return out

    # ------------------------------------------------------------------ writes

    def _team(self, team_id: str) -> dict:
        if team_id not in self.teams:
            raise _Answer(404, f"Team not found, passed team_id={team_id}")
        return self.teams[team_id]

    def _user(self, user_id: str) -> dict:
        if user_id not in self.users:
            raise _Answer(400, f"User not found, passed user_id={user_id}")
        return self.users[user_id]

    def _user_new(self, b: dict) -> dict:
        if b["user_id"] in self.users:
            raise _Answer(400, f"User with id {b['user_id']} already exists")
        user = {"user_id": b["user_id"], "user_email": b.get("user_email"), "user_alias": b.get("user_alias"),
                "user_role": b.get("user_role") or "internal_user", "models": list(b.get("models") or []),
                "teams": [], "metadata": dict(b.get("metadata") or {}), "spend": 0.0}
        self.users[b["user_id"]] = user
        return user

    def _user_update(self, b: dict) -> dict:
        user = self._user(b["user_id"])
        for name in ("user_email", "user_alias", "user_role", "models", "metadata"):
            if name in b:
                user[name] = b[name]  # metadata too: replaced wholesale
        return user

    def _budget(self, **values) -> str:
        budget_id = f"budget-{next(self._ids)}"
        self.budgets[budget_id] = {"budget_id": budget_id, "max_budget": None, "rpm_limit": None, "tpm_limit": None,
                                   "budget_duration": None, "budget_reset_at": None, "temp_budget_increase": None,
                                   "temp_budget_expiry": None, **values}
        return budget_id

    def _team_new(self, b: dict) -> dict:
        if b["team_id"] in self.teams:
            raise _Answer(400, f"Team id = {b['team_id']} already exists. Please use a different team id.")
        team = {"team_id": b["team_id"], "team_alias": b.get("team_alias"), "models": list(b.get("models") or []),
                "metadata": dict(b.get("metadata") or {}), "members_with_roles": []}
        # LiteLLM makes the master key's identity an admin member of every team it creates.
        self.users.setdefault(DEFAULT_USER, {"user_id": DEFAULT_USER, "user_email": None, "user_alias": None,
                                             "user_role": "proxy_admin", "models": [], "teams": [], "metadata": {},
                                             "spend": 0.0})
        if "team_member_budget" in b:
            team["metadata"]["team_member_budget_id"] = self._budget(
                max_budget=b["team_member_budget"], rpm_limit=b.get("team_member_rpm_limit"),
                budget_duration=b.get("team_member_budget_duration"), budget_reset_at="2026-11-30T18:30:00+00:00")
        self.teams[b["team_id"]] = team
        self._join(team, DEFAULT_USER, "admin", budget_id=None)
        return team

    def _join(self, team: dict, user_id: str, role: str, *, budget_id: str | None) -> None:
        user = self._user(user_id)
        team["members_with_roles"].append({"user_id": user_id, "role": role})
        user["teams"] = sorted({*user["teams"], team["team_id"]})
        self.memberships[(team["team_id"], user_id)] = {"user_id": user_id, "team_id": team["team_id"],
                                                        "spend": 0.0, "budget_id": budget_id}

    def _team_update(self, b: dict) -> dict:
        team = self._team(b["team_id"])
        for name in ("team_alias", "models"):
            if name in b:
                team[name] = b[name]
        row = self.budgets.get(team["metadata"].get("team_member_budget_id") or "")
        for name, column in (("team_member_budget", "max_budget"), ("team_member_rpm_limit", "rpm_limit"),
                             ("team_member_budget_duration", "budget_duration")):
            if name in b and row is not None:
                row[column] = b[name]
        return team

    def _member_add(self, b: dict) -> dict:
        team = self._team(b["team_id"])
        members = b["member"] if isinstance(b["member"], list) else [b["member"]]
        present = {m["user_id"] for m in team["members_with_roles"]}
        duplicates = [m for m in members if m["user_id"] in present]
        if isinstance(b["member"], list) and len(duplicates) == len(members):
            raise _Answer(400, f"All users are already in team. Existing members={team['members_with_roles']}")
        if not isinstance(b["member"], list) and duplicates:
            raise _Answer(400, f"User already in team. Member: user_id={members[0]['user_id']}")
        # As LiteLLM 1.108.7: the rows of the members the team did not name yet, as read before the
        # team was appended to them.
        updated = []
        for m in members:
            if m["user_id"] not in present:
                updated.append(dict(self._user(m["user_id"])))
                self._join(team, m["user_id"], m.get("role", "user"),
                           budget_id=team["metadata"].get("team_member_budget_id"))
        return {"team_id": team["team_id"], "updated_users": updated}

    def _member_delete(self, b: dict) -> dict:
        team = self._team(b["team_id"])
        if (team["team_id"], b["user_id"]) not in self.memberships:
            raise _Answer(400, f"User={b['user_id']} not found in team={team['team_id']}")
        del self.memberships[(team["team_id"], b["user_id"])]
        team["members_with_roles"] = [m for m in team["members_with_roles"] if m["user_id"] != b["user_id"]]
        user = self.users.get(b["user_id"])
        if user is not None:
            user["teams"] = [t for t in user["teams"] if t != team["team_id"]]
        for token in [t for t, k in self.keys.items() if k["user_id"] == b["user_id"] and k["team_id"] == b["team_id"]]:
            del self.keys[token]  # LiteLLM deletes the member's keys in the team with the membership
        return {"team_id": team["team_id"]}

    def _member_update(self, b: dict) -> dict:
        team = self._team(b["team_id"])
        m = self.memberships.get((team["team_id"], b["user_id"]))
        if m is None:
            raise _Answer(400, f"User={b['user_id']} not found in team={team['team_id']}")
        default = self.budgets.get(team["metadata"].get("team_member_budget_id") or "", {})
        if m["budget_id"] in (None, default.get("budget_id")):  # a row of its own, cloned from the default
            m["budget_id"] = self._budget(budget_duration=default.get("budget_duration"),
                                          budget_reset_at=default.get("budget_reset_at"))
        row = self.budgets[m["budget_id"]]
        for name, column in (("max_budget_in_team", "max_budget"), ("rpm_limit", "rpm_limit"),
                             ("temp_budget_increase", "temp_budget_increase"),
                             ("temp_budget_expiry", "temp_budget_expiry")):
            if name in b:
                row[column] = b[name]
        return {**m, "litellm_budget_table": row}

    def _reset_budget(self, team_id: str, user_id: str) -> dict:
        team = self._team(team_id)
        m = self.memberships.get((team_id, user_id))
        if m is None:
            raise _Answer(404, f"User={user_id} not found in team={team_id}")
        m["budget_id"] = team["metadata"].get("team_member_budget_id")
        return m

    def _expires(self, duration: str | None) -> str | None:
        if duration is None:
            return None
        seconds = int(duration.removesuffix("s"))
        return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).isoformat()

    def _key_generate(self, b: dict) -> dict:
        raw = b.get("key") or f"sk-generated-{next(self._ids)}"
        token = hashlib.sha256(raw.encode()).hexdigest()
        if b.get("key_alias") and any(k["key_alias"] == b["key_alias"] for k in self.keys.values()):
            raise _Answer(400, f"Key with alias '{b['key_alias']}' already exists. Unique key aliases across all "
                               "keys are required.")
        if token in self.keys:
            raise _Answer(400, "Key already exists")
        if b.get("team_id"):
            self._team(b["team_id"])
        key = {"token": token, "key_alias": b.get("key_alias"), "user_id": b.get("user_id"),
               "team_id": b.get("team_id"), "models": list(b.get("models") or []), "blocked": None,
               "metadata": dict(b.get("metadata") or {}), "expires": self._expires(b.get("duration")),
               "allowed_routes": list(b.get("allowed_routes") or []),
               "created_at": f"2026-01-01T00:00:{next(self._ids) % 60:02d}+00:00"}
        self.keys[token] = key
        return {**key, "key": raw, "token_id": token}

    def _key_update(self, b: dict) -> dict:
        key = self.keys.get(b["key"])
        if key is None:
            raise _Answer(404, "Key not found.")
        if "key_alias" in b and any(k["key_alias"] == b["key_alias"] and k is not key for k in self.keys.values()):
            raise _Answer(400, f"Key with alias '{b['key_alias']}' already exists.")
        for name in ("key_alias", "team_id", "models", "metadata", "allowed_routes"):
            if name in b:
                key[name] = b[name]  # metadata too: replaced wholesale
        if "duration" in b:
            key["expires"] = self._expires(b["duration"])
        return key

    def _key_delete(self, b: dict) -> dict:
        found = [t for t in b.get("keys") or [] if t in self.keys]
        if not found:
            raise _Answer(404, "No keys found")
        for t in found:
            del self.keys[t]
        return {"deleted_keys": found}


def _page(items: list, name: str, q: dict, size_param: str, *, total: str = "total") -> dict:
    size = min(100, int(q.get(size_param) or 10))
    page = int(q.get("page") or 1)
    pages = max(1, math.ceil(len(items) / size))
    return {name: items[(page - 1) * size: page * size], total: len(items), "page": page,
            "current_page": page, "total_pages": pages}


def _error(status: int, message: str, retry_after: str | None = None) -> httpx.Response:
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    return httpx.Response(status, headers=headers, json={"error": {"message": message, "type": "fake",
                                                                   "param": None, "code": str(status)}})
