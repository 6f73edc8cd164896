"""A small, defensive client for LiteLLM's admin API.

Bounded timeouts; retries on 429, 5xx and transport errors with exponential backoff and
jitter, honouring Retry-After. Writes that are not idempotent are retried only when the
request provably never reached the server (connect errors), so a retry can't duplicate.
Every request is counted, for benchmarks and for "a second apply makes zero writes".
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from reconciler.errors import GatewayctlError, UsageError, redact

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
PAGE_SIZE = 100  # the maximum LiteLLM's paged list endpoints accept


class GatewayError(GatewayctlError):
    """The gateway refused a request or could not be reached; `status` is 0 for transport errors."""

    def __init__(self, method: str, path: str, status: int, detail: str):
        detail = redact(detail)
        super().__init__(f"{method} {path}: {status or 'no response'}: {detail}")
        self.method, self.path, self.status, self.detail = method, path, status, detail


@dataclass
class CallStats:
    reads: int = 0
    writes: int = 0
    retries: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, method: str, path: str) -> None:
        with self._lock:
            if method == "GET":
                self.reads += 1
            else:
                self.writes += 1
            self.by_path[path] = self.by_path.get(path, 0) + 1

    def retried(self) -> None:
        with self._lock:
            self.retries += 1

    @property
    def total(self) -> int:
        return self.reads + self.writes


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:  # an HTTP date; anything else is ignored (plain backoff), never a crash
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return max(0.0, parsed.timestamp() - time.time())
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _detail(response: httpx.Response, secrets: list[str | None]) -> str:
    """The error message of an answer, redacted before it is cut short (a cut key escapes the patterns)."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        err = body.get("error", body.get("detail", body))
        body = err.get("message", err) if isinstance(err, dict) else err
    return redact(str(body), secrets)[:300]


def _sent_secrets(body: Any) -> list[str | None]:
    """Raw keys a request carries (/key/generate's `key`), which an answer may echo."""
    return [body.get("key")] if isinstance(body, dict) and isinstance(body.get("key"), str) else []


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_vpc_private_name(host: str) -> bool:
    """A name under `.internal`, the TLD reserved for private use (never in public DNS): the gateway tasks'
    Cloud Map name, which resolves only inside the VPC (docs/adr/0006-admin-api-not-on-the-internet.md).
    Plain HTTP there is the hop every request already takes from the load balancer to the tasks."""
    labels = host.rstrip(".").split(".")
    return len(labels) >= 2 and labels[-1] == "internal" and all(labels)


def check_base_url(base_url: str) -> None:
    """The admin key is sent on every request: only over TLS, or over plain HTTP to this machine or to the
    tasks' private name inside the VPC."""
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL:
        url = httpx.URL("invalid:")
    host = (url.host or "").lower()
    plain_ok = _is_loopback(host) or _is_vpc_private_name(host)
    if host and (url.scheme == "https" or (url.scheme == "http" and plain_ok)):
        return
    raise UsageError(f"refusing gateway URL {base_url!r}: the admin key would be sent in clear text; use https:// "
                     "(plain http:// is accepted only for localhost, 127.0.0.0/8 and a VPC-private *.internal name)")


@dataclass(frozen=True)
class RequestPolicy:
    """How long one request may take, and how often and how patiently a failed one is tried again."""

    timeout: float = 30.0  # seconds per request (connecting: at most 10)
    retries: int = 5
    backoff: float = 0.5  # seconds before the first retry, doubled for each one after it
    max_backoff: float = 20.0


DEFAULT_POLICY = RequestPolicy()


class AdminClient:
    def __init__(self, base_url: str, master_key: str, *, policy: RequestPolicy = DEFAULT_POLICY,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep):
        """`transport` and `sleep` are for tests: a fake admin API (tests/fakelitellm.py) and a clock."""
        if not base_url:
            raise UsageError("no gateway URL: set LITELLM_BASE_URL or pass --base-url")
        if not master_key:
            raise UsageError("no master key: set LITELLM_MASTER_KEY")
        check_base_url(base_url)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {master_key}", "User-Agent": "gatewayctl"},
            timeout=httpx.Timeout(policy.timeout, connect=min(policy.timeout, 10.0)),
            transport=transport,
            trust_env=False,  # never send the master key through an ambient HTTP proxy
        )
        self.retries, self.backoff, self.max_backoff = policy.retries, policy.backoff, policy.max_backoff
        self._pause = sleep
        self._master_key = master_key  # hidden from every error message, whatever it looks like
        self.stats = CallStats()

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _sleep(self, attempt: int, hint: float | None) -> None:
        delay = hint if hint is not None else min(self.max_backoff, self.backoff * 2**attempt)
        self._pause(min(self.max_backoff, delay) * (1 + random.random() * 0.25))  # noqa: S311

    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                idempotent: bool | None = None, retries: int | None = None) -> Any:
        """Send one request; returns parsed JSON. Raises GatewayError when it finally fails.
        `retries` overrides the client's count for this call (a caller with a better fallback)."""
        if idempotent is None:
            idempotent = method == "GET"
        max_retries = self.retries if retries is None else retries
        attempt = 0
        while True:
            self.stats.count(method, path)
            try:
                response = self._http.request(method, path, params=params, json=json)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # never reached the server: safe to retry
                if attempt >= max_retries:
                    raise GatewayError(method, path, 0, redact(f"cannot connect: {exc}", [self._master_key])) from None
            except httpx.TransportError as exc:
                if not idempotent or attempt >= max_retries:
                    raise GatewayError(method, path, 0,
                                       redact(f"{type(exc).__name__}: {exc}", [self._master_key])) from None
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError:
                        raise GatewayError(method, path, response.status_code, "response is not JSON") from None
                # 429 and 5xx are retried for every call: LiteLLM answers 429 before doing anything and
                # rolls its transaction back before a 5xx. A write that did land behind a 5xx (a load
                # balancer's 502) comes back on retry as "already exists", which the caller checks.
                if response.status_code not in RETRY_STATUSES or attempt >= max_retries:
                    raise GatewayError(method, path, response.status_code,
                                       _detail(response, [self._master_key, *_sent_secrets(json)]))
                self.stats.retried()
                self._sleep(attempt, _retry_after(response))
                attempt += 1
                continue
            self.stats.retried()
            self._sleep(attempt, None)
            attempt += 1

    def get(self, path: str, **params) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: dict, *, idempotent: bool = False, retries: int | None = None) -> Any:
        return self.request("POST", path, json=body, idempotent=idempotent, retries=retries)

    def pages(self, path: str, items_key: str, *, size_param: str, page_size: int = PAGE_SIZE,
              **params) -> Iterator[dict]:
        """Every item of a paged list endpoint, one request per page of `page_size`."""
        page = 1
        while True:
            body = self.get(path, page=page, **{size_param: page_size}, **params)
            items = body.get(items_key) or []
            yield from items
            total_pages = body.get("total_pages") or body.get("pages") or 1
            if page >= total_pages or not items:
                return
            page += 1
