"""A fault-injecting HTTP forwarder for tests (stdlib only).

Sits on 127.0.0.1 between gatewayctl and the genuine LiteLLM proxy and, per request, either
forwards it unchanged or injects one fault, chosen from an explicit schedule first and then
at random with fixed probabilities and a seed (so a failing run can be replayed):

  error5xx    answer 503 (or `status_5xx`) WITHOUT forwarding: the gateway never saw it
  error5xx_after  forward, let the gateway act, then answer 502 instead of its response
  throttle    answer 429 with `Retry-After: <retry_after>` without forwarding
  reset       read the request, then close the socket with RST (no response, not forwarded)
  reset_mid   forward, send the status line, headers and half the body, then RST
  slow        forward at once, then hold the response for `slow_seconds` (past the client
              timeout: the gateway acted, the client gives up)
  echo        answer 400 WITHOUT forwarding, echoing the request's Authorization header and JSON
              body (keys sorted) in the error message, as a debugging middlebox or a chatty
              gateway version might: what gatewayctl must never print or record as it is
  delay       (not a fault) forward after `delay` seconds chosen uniformly from a range:
              widens race windows for crash tests

Every request is recorded (method, path, action) so tests can count calls. `drain()` waits
until no request is in flight, so a test can inspect state after everything sent upstream
has finished.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAULTS = ("error5xx", "error5xx_after", "throttle", "reset", "reset_mid", "slow")
ECHO = "echo"  # by schedule only: not a fault an apply must survive, a text gatewayctl must not repeat
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "content-length", "host"}


@dataclass
class Record:
    method: str
    path: str
    action: str  # "ok" or a fault name
    status: int | None = None


class FaultProxy:
    def __init__(self, upstream: str, *, seed: int = 0, probabilities: dict[str, float] | None = None,
                 schedule: Iterable[str] = (), methods: Iterable[str] | None = None,
                 paths: Iterable[str] | None = None, retry_after: float = 1, status_5xx: int = 503,
                 slow_seconds: float = 3.0, delay: tuple[float, float] = (0.0, 0.0), upstream_timeout: float = 120):
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.rng = random.Random(seed)
        self.probabilities = dict(probabilities or {})
        for name in self.probabilities:
            if name not in FAULTS:
                raise ValueError(f"unknown fault {name!r}")
        self.schedule = list(schedule)
        self.methods = {m.upper() for m in methods} if methods else None
        self.paths = set(paths) if paths else None
        self.retry_after, self.status_5xx, self.slow_seconds = retry_after, status_5xx, slow_seconds
        self.delay, self.upstream_timeout = delay, upstream_timeout
        self.records: list[Record] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self._idle = threading.Condition(self._lock)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="faultproxy", daemon=True)

    # ------------------------------------------------------------------ control
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def configure(self, *, probabilities: dict[str, float] | None = None, schedule: Iterable[str] | None = None,
                  delay: tuple[float, float] | None = None) -> None:
        with self._lock:
            if probabilities is not None:
                self.probabilities = dict(probabilities)
            if schedule is not None:
                self.schedule = list(schedule)
            if delay is not None:
                self.delay = delay

    def drain(self, timeout: float = 60) -> bool:
        """Wait until no request is being handled; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def count(self, action: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.records if action is None or r.action == action)

    def faults_injected(self) -> dict[str, int]:
        with self._lock:
            out: dict[str, int] = {}
            for r in self.records:
                if r.action != "ok":
                    out[r.action] = out.get(r.action, 0) + 1
            return out

    # ------------------------------------------------------------------ decisions
    def _choose(self, method: str, path: str) -> tuple[str, float]:
        with self._lock:
            delay = self.rng.uniform(*self.delay) if self.delay[1] > 0 else 0.0
            eligible = (self.methods is None or method in self.methods) and (
                self.paths is None or path.split("?", 1)[0] in self.paths)
            action = "ok"
            if eligible and self.schedule:
                action = self.schedule.pop(0)
            elif eligible:
                roll = self.rng.random()
                for name, p in self.probabilities.items():
                    if roll < p:
                        action = name
                        break
                    roll -= p
            self.records.append(Record(method, path, action))
            self._in_flight += 1
            return action, delay

    def _done(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    # ------------------------------------------------------------------ forwarding
    def _forward(self, method: str, path: str, headers, body: bytes) -> tuple[int, str, list, bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=self.upstream_timeout)
        try:
            out_headers = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
            out_headers["Host"] = f"{self.upstream_host}:{self.upstream_port}"
            conn.request(method, path, body=body if body or method not in ("GET", "HEAD") else None,
                         headers=out_headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.reason, resp.getheaders(), data
        finally:
            conn.close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            _aborted = False

            def log_message(self, *args) -> None:  # quiet
                pass

            def _rst(self) -> None:
                self._aborted = True
                self.close_connection = True
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                except OSError:
                    pass

            def finish(self) -> None:
                if self._aborted:
                    return
                try:
                    super().finish()
                except OSError:
                    pass

            def _send(self, status: int, reason: str, headers: list, body: bytes, *, partial: bool = False) -> None:
                self.send_response_only(status, reason)
                for k, v in headers:
                    if k.lower() not in HOP_BY_HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if partial:
                    self.wfile.write(body[: max(1, len(body) // 2)])
                    self.wfile.flush()
                    self._rst()
                    return
                self.wfile.write(body)

            def _json(self, status: int, message: str, extra: list | None = None) -> None:
                body = (f'{{"error": {{"message": "{message}", "type": "faultproxy"}}}}').encode()
                self._send(status, http.client.responses.get(status, ""),
                           [("Content-Type", "application/json"), *(extra or [])], body)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                action, delay = proxy._choose(self.command, self.path)
                try:
                    if delay:
                        time.sleep(delay)
                    if action == "error5xx":
                        return self._json(proxy.status_5xx, "injected fault: upstream unavailable")
                    if action == "throttle":
                        return self._json(429, "injected fault: slow down",
                                          [("Retry-After", str(proxy.retry_after))])
                    if action == "reset":
                        return self._rst()
                    if action == ECHO:
                        try:
                            sent = json.dumps(json.loads(body or b"null"), sort_keys=True)
                        except ValueError:
                            sent = body.decode(errors="replace")
                        message = f"rejected, Authorization: {self.headers.get('Authorization')}; body: {sent}"
                        data = json.dumps({"error": {"message": message, "type": "faultproxy"}}).encode()
                        return self._send(400, "Bad Request", [("Content-Type", "application/json")], data)
                    try:
                        status, reason, headers, data = proxy._forward(self.command, self.path, self.headers, body)
                    except OSError as exc:
                        return self._json(502, f"faultproxy cannot reach upstream: {type(exc).__name__}")
                    if action == "error5xx_after":
                        return self._json(502, "injected fault: bad gateway after upstream handled the request")
                    if action == "reset_mid":
                        return self._send(status, reason, headers, data, partial=True)
                    if action == "slow":
                        time.sleep(proxy.slow_seconds)
                    self._send(status, reason, headers, data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                finally:
                    proxy._done()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        return Handler
