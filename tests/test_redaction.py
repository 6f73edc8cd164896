"""Gateway error text is redacted wherever gatewayctl prints or records it (issue 19).

The genuine LiteLLM 1.108.7 masks keys in its own errors, but what reaches gatewayctl is whatever
the path answers: a debugging middlebox, a WAF page or another LiteLLM version may echo the request.
tests/faultproxy.py's `echo` answers with the request's Authorization header and body: the master
key and the raw key being registered. Neither may reach the terminal, the audit log or the journal."""

from __future__ import annotations

import json

import pytest
from faultproxy import ECHO, FaultProxy
from helpers import clean_slate, secret_key, write_user

from reconciler.errors import GatewayctlError, redact
from reconciler.live.client import GatewayError

RAW = "sk-" + "Zq3" * 12  # shaped like a minted key (obviously made up)


@pytest.fixture
def clean(admin, aws_env, workspace):
    clean_slate(admin, workspace)


def test_apply_never_prints_or_records_an_echoed_key(clean, workspace, gateway, admin, gatewayctl):
    write_user(workspace, "echo1", "drafting")
    with FaultProxy(gateway.base_url, schedule=[ECHO], paths=["/key/generate"]) as fp:
        proc = gatewayctl("apply", "--confirm", "--base-url", fp.url)
        assert fp.drain(60) and fp.count(ECHO) == 1
    assert proc.returncode == 1 and "FAILED: POST /key/generate: 400: rejected" in proc.stderr, proc.stderr
    raw = secret_key("echo1")  # written before /key/generate: the value the echo carried
    audit = (workspace / "gatewayctl-audit.jsonl").read_text()
    (error,) = [a["error"] for a in json.loads(audit.splitlines()[-1])["actions"] if a["target"] == "user:echo1"]
    assert "redacted" in error and "Bearer" in error, error
    for text in (proc.stdout, proc.stderr, audit):
        assert raw not in text and raw[3:15] not in text
        assert gateway.master_key not in text
    assert not (workspace / ".gatewayctl" / "apply-journal.jsonl").exists()  # removed after the record
    assert gatewayctl("apply", "--confirm").returncode == 0  # and the next run converges


@pytest.mark.parametrize(("text", "leaked"), [
    (f"key {RAW} not found", RAW),
    (f"Authorization: Bearer {RAW[:10]}.abc/def=", RAW[:10]),
    ('{"api_key": "s3cr3t-value-1234", "user_id": "ann"}', "s3cr3t-value-1234"),  # pragma: allowlist secret
    ("x-litellm-api-key=topsecretvalue&user=ann", "topsecretvalue"),
    ("master_key: hunter2hunter2", "hunter2hunter2"),
])
def test_redact_hides_keys_tokens_and_named_secrets(text, leaked):
    out = redact(text)
    assert leaked not in out and "redacted" in out, out


def test_redact_keeps_ordinary_text_and_hides_given_secrets():
    text = "task-definition-family ask-for-review-12345678 token 0fe5391bf2137206 user_id ann"
    assert redact(text) == text  # no key: nothing hidden ("sk-" inside a word is not a key)
    assert redact("the master key is m4ster-not-sk-shaped", secrets=["m4ster-not-sk-shaped"]) == \
        "the master key is …(redacted)"


def test_every_expected_failure_is_redacted_where_it_is_made():
    assert RAW not in str(GatewayctlError(f"cannot write {RAW}"))
    exc = GatewayError("POST", "/key/update", 404, f"Key not found: {RAW}")
    assert RAW not in str(exc) and RAW not in exc.detail
