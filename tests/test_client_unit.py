"""The admin client's retry rules, against the fake admin API (tests/fakelitellm.py): no proxy.

What the client promises (reconciler/live/client.py): 429, 5xx and transport errors are retried with
backoff, honouring Retry-After; a write that may have reached the server is never retried after a
transport error (only a refused connection is safe); other 4xx answers are final."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from reconciler.live.client import GatewayError, RequestPolicy

NEW_USER = {"user_id": "ann", "user_email": "ann@example.com", "auto_create_key": False}


def test_5xx_is_retried_until_it_succeeds(fake):
    fake.fail("GET", "/budget/list", status=503, times=2)
    with fake.client(RequestPolicy(retries=5)) as client:
        assert client.get("/budget/list") == []
        assert client.stats.retries == 2 and client.stats.reads == 3
    assert len(fake.calls("GET", "/budget/list")) == 3


def test_the_client_gives_up_after_its_retries(fake):
    fake.fail("GET", "/budget/list", status=503, times=10)
    with fake.client(RequestPolicy(retries=2)) as client, pytest.raises(GatewayError) as err:
        client.get("/budget/list")
    assert err.value.status == 503 and len(fake.calls()) == 3


def test_a_4xx_answer_is_final(fake):
    with fake.client() as client, pytest.raises(GatewayError) as err:
        client.post("/user/update", {"user_id": "nobody"})
    assert err.value.status == 400 and "User not found" in err.value.detail and len(fake.calls()) == 1


def test_retry_after_in_seconds_is_honoured(fake):
    fake.fail("POST", "/user/new", status=429, retry_after="3")
    with fake.client(RequestPolicy(backoff=0.01)) as client:
        client.post("/user/new", NEW_USER)
    (delay,) = fake.slept
    assert 3 <= delay <= 3 * 1.25  # the hint, plus at most 25% jitter
    assert list(fake.users) == ["ann"]


def test_retry_after_as_an_http_date_is_honoured(fake):
    when = email.utils.formatdate(time.time() + 8, usegmt=True)
    fake.fail("GET", "/budget/list", status=503, retry_after=when)
    with fake.client(RequestPolicy(backoff=0.01)) as client:
        client.get("/budget/list")
    (delay,) = fake.slept
    assert 6 <= delay <= 8 * 1.25


def test_an_unreadable_retry_after_falls_back_to_backoff(fake):
    fake.fail("GET", "/budget/list", status=503, retry_after="soon", times=2)
    with fake.client(RequestPolicy(backoff=0.5)) as client:
        client.get("/budget/list")
    first, second = fake.slept
    assert 0.5 <= first <= 0.5 * 1.25 and 1.0 <= second <= 1.0 * 1.25  # exponential


def test_retry_after_is_capped_by_the_longest_backoff(fake):
    fake.fail("GET", "/budget/list", status=429, retry_after="3600")
    with fake.client(RequestPolicy(max_backoff=2.0)) as client:
        client.get("/budget/list")
    assert fake.slept[0] <= 2.0 * 1.25


def test_a_write_is_not_repeated_after_a_timeout(fake):
    """The request may have reached LiteLLM: repeating /user/new could act twice. The caller re-plans."""
    fake.fail("POST", "/user/new", error=httpx.ReadTimeout)
    with fake.client(RequestPolicy(retries=5)) as client, pytest.raises(GatewayError) as err:
        client.post("/user/new", NEW_USER)
    assert err.value.status == 0 and "ReadTimeout" in err.value.detail
    assert len(fake.calls("POST", "/user/new")) == 1


def test_a_refused_connection_is_retried_even_for_a_write(fake):
    fake.fail("POST", "/user/new", error=httpx.ConnectError, times=2)
    with fake.client(RequestPolicy(retries=5)) as client:
        client.post("/user/new", NEW_USER)
    assert len(fake.calls("POST", "/user/new")) == 3 and list(fake.users) == ["ann"]


def test_a_read_is_retried_after_a_timeout(fake):
    fake.fail("GET", "/user/list", error=httpx.ReadTimeout)
    with fake.client() as client:
        assert list(client.pages("/user/list", "users", size_param="page_size")) == []
    assert len(fake.calls("GET", "/user/list")) == 2


def test_pages_are_read_to_the_end(fake):
    with fake.client() as client:
        for i in range(250):
            client.post("/user/new", {**NEW_USER, "user_id": f"u{i:03d}", "user_email": f"u{i}@example.com"})
        ids = [u["user_id"] for u in client.pages("/user/list", "users", size_param="page_size")]
        assert ids == sorted(fake.users) and client.stats.reads == 3  # 100 + 100 + 50
