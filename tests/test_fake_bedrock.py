"""The project's fake Bedrock (tools/fake-bedrock): the harness's answers, plus switches a test turns
while it runs, so that one genuine proxy serves tests that need different Bedrock behaviour."""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.process  # each test runs the fake as a program

ROOT = Path(__file__).resolve().parent.parent
OURS = ROOT / "tools" / "fake-bedrock" / "fake-bedrock"
HARNESS = Path(os.environ.get("LITELLM_HARNESS_DIR") or ROOT.parent / "shared" / "litellm-harness") / "fake-bedrock"
MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1%3A0"
IDS = re.compile(rb"(msg_fake_[0-9a-f]{12}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


class Fake:
    def __init__(self, script: Path, tmp: Path, *extra: str):
        ready = tmp / f"{script.parent.name}-{time.monotonic_ns()}.port"
        self.proc = subprocess.Popen([sys.executable, str(script), "--port", "0", "--ready-file", str(ready), *extra],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not ready.is_file():
            assert self.proc.poll() is None and time.monotonic() < deadline, f"{script} did not start"
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{int(ready.read_text())}"

    def post(self, path: str, body: dict) -> httpx.Response:
        return httpx.post(self.url + path, json=body, timeout=30, trust_env=False)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def ours(tmp_path: Path) -> Iterator[Fake]:
    fake = Fake(OURS, tmp_path)
    yield fake
    fake.stop()


REQUESTS = [
    (f"/model/{MODEL}/converse", {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}),
    (f"/model/{MODEL}/converse-stream", {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}),
    (f"/model/{MODEL}/invoke", {"messages": [{"role": "user", "content": "x [[usage in=7 out=3]]"}]}),
    (f"/model/{MODEL}/invoke-with-response-stream", {"messages": [{"role": "user", "content": "hi"}]}),
    (f"/model/{MODEL}/count-tokens", {"input": {"converse": {"messages": []}}}),
    ("/anthropic/v1/messages/count_tokens", {"messages": [{"role": "user", "content": "hello"}]}),
    ("/model/amazon.titan-embed-text-v2%3A0/invoke", {"inputText": "hi", "dimensions": 4}),
]


def _events(stream: bytes) -> list[bytes]:
    """The payloads of an AWS event stream, a chunk's base64 `bytes` decoded."""
    payloads = []
    while stream:
        total, headers = struct.unpack(">II", stream[:8])
        payload = json.loads(stream[12 + headers:total - 4])
        payloads.append(base64.b64decode(payload["bytes"]) if "bytes" in payload else json.dumps(payload).encode())
        stream = stream[total:]
    return payloads


def _comparable(response: httpx.Response) -> tuple[int, list[bytes]]:
    if response.headers.get("content-type") == "application/vnd.amazon.eventstream":
        parts = _events(response.content)
    else:
        parts = [response.content]
    return response.status_code, [IDS.sub(b"ID", part) for part in parts]


def test_it_answers_every_request_as_the_harness_s_fake_does(ours: Fake, tmp_path: Path):
    if not HARNESS.is_file():
        pytest.skip(f"no LiteLLM harness at {HARNESS.parent} to compare tools/fake-bedrock with")
    theirs = Fake(HARNESS, tmp_path)
    try:
        for path, body in REQUESTS:
            assert _comparable(ours.post(path, body)) == _comparable(theirs.post(path, body)), path
    finally:
        theirs.stop()


def test_a_switch_changes_the_next_answer_and_an_empty_control_resets_it(ours: Fake):
    converse = REQUESTS[0]
    assert ours.post(*converse).json()["metrics"]["latencyMs"] == 1
    assert httpx.put(ours.url + "/_fake/control", json={"latency_ms": 250}, trust_env=False).status_code == 200
    assert httpx.get(ours.url + "/_fake/control", trust_env=False).json() == {"latency_ms": 250}
    assert ours.post(*converse).json()["metrics"]["latencyMs"] == 251
    assert httpx.put(ours.url + "/_fake/control", json={}, trust_env=False).status_code == 200
    assert ours.post(*converse).json()["metrics"]["latencyMs"] == 1


@pytest.mark.parametrize(("switches", "message"), [
    ({"latency_ms": "fast"}, "latency_ms must be an integer from 0 to 600000, not 'fast'"),
    ({"latency_ms": -1}, "latency_ms must be an integer"),
    ({"latncy_ms": 5}, "unknown switches: latncy_ms (known: latency_ms"),
    (["latency_ms"], "the control body must be a JSON object"),
])
def test_a_bad_switch_is_refused_when_it_is_set_and_changes_nothing(ours: Fake, switches, message: str):
    httpx.put(ours.url + "/_fake/control", json={"latency_ms": 5}, trust_env=False)
    refused = httpx.put(ours.url + "/_fake/control", content=json.dumps(switches), trust_env=False)
    assert refused.status_code == 400 and message in refused.json()["message"]
    assert httpx.get(ours.url + "/_fake/control", trust_env=False).json() == {"latency_ms": 5}


def test_it_exits_when_the_process_it_watches_is_gone(tmp_path: Path):
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    fake = Fake(OURS, tmp_path, "--watch-pid", str(parent.pid))
    parent.kill()
    parent.wait()
    assert fake.proc.wait(timeout=20) == 0


def _usage(response: httpx.Response) -> dict:
    """The usage block of any model answer: Converse's, or InvokeModel's Anthropic one (streamed or not)."""
    if response.headers.get("content-type") != "application/vnd.amazon.eventstream":
        return response.json()["usage"]
    events = [json.loads(e) for e in _events(response.content)]
    found = [e["usage"] for e in events if "usage" in e and "inputTokens" in e["usage"]]  # Converse's metadata
    found += [e["message"]["usage"] for e in events if e.get("type") == "message_start"]
    (usage,) = found
    return usage


SYSTEM = "You are a careful coding assistant. " * 200  # 7,200 characters: 1,800 tokens at 4 characters a token


@pytest.mark.parametrize("operation", ["converse", "converse-stream", "invoke", "invoke-with-response-stream"])
def test_a_cached_prefix_is_written_once_then_read_and_a_longer_one_reads_then_writes_the_rest(ours: Fake,
                                                                                               operation: str):
    if operation.startswith("converse"):  # Converse: a cachePoint block after what is cached
        def request(*turns: str) -> dict:
            return {"system": [{"text": SYSTEM}, {"cachePoint": {"type": "default"}}],
                    "messages": [{"role": "user", "content": [{"text": t}] + [{"cachePoint": {"type": "default"}}] * (
                        t == turns[-1])} for t in turns]}  # the mark on the newest turn only, as Claude Code sends
        read, write, uncached = "cacheReadInputTokens", "cacheWriteInputTokens", "inputTokens"
    else:  # InvokeModel's Anthropic body: cache_control on the last block cached
        def request(*turns: str) -> dict:
            return {"system": [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],
                    "messages": [{"role": "user", "content": [{"type": "text", "text": t} | (
                        {"cache_control": {"type": "ephemeral"}} if t == turns[-1] else {})]} for t in turns]}
        read, write, uncached = "cache_read_input_tokens", "cache_creation_input_tokens", "input_tokens"
    path = f"/model/{MODEL}/{operation}"
    first = _usage(ours.post(path, request("Fix the bug [[usage in=500 out=300]]")))
    assert first[read] == 0 and 1800 < first[write] < 1900 and first[uncached] == 500
    again = _usage(ours.post(path, request("Fix the bug [[usage in=500 out=300]]")))
    assert (again[read], again[write], again[uncached]) == (first[write], 0, 500)
    # the next turn: the mark moved on, and the previous turn's prefix is found a block before it
    longer = _usage(ours.post(path, request("Fix the bug [[usage in=500 out=300]]", "And the test " * 100)))
    assert longer[read] == first[write] and 300 < longer[write] < 400
    other_model = _usage(ours.post(path.replace("haiku", "sonnet"), request("Fix the bug [[usage in=500 out=300]]")))
    assert other_model[read] == 0, "a cache belongs to one model"
    if operation.startswith("converse"):
        assert again["totalTokens"] == 500 + 300 + again[read]  # Converse: inputTokens excludes the cache
    plain = _usage(ours.post(path, {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}))
    assert read not in plain and write not in plain, "no checkpoint, no cache fields (as Bedrock answers)"


def test_throttle_answers_the_named_model_as_bedrock_does_and_only_that_model(ours: Fake):
    """botocore, which reads Bedrock's error type from the x-amzn-ErrorType header, sees the
    ThrottlingException a real throttled Converse call raises; another model id still answers."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    throttled = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert httpx.put(ours.url + "/_fake/control", json={"throttle": [throttled]}, trust_env=False).status_code == 200
    client = boto3.client("bedrock-runtime", endpoint_url=ours.url, region_name="ap-south-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing",  # pragma: allowlist secret
                          config=Config(retries={"max_attempts": 1}))
    messages = [{"role": "user", "content": [{"text": "hi"}]}]
    with pytest.raises(ClientError) as refused:
        client.converse(modelId=throttled, messages=messages)
    assert refused.value.response["Error"]["Code"] == "ThrottlingException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert client.converse(modelId="apac.anthropic.claude-haiku-4-5-20251001-v1:0", messages=messages)[
        "stopReason"] == "end_turn"
    assert httpx.put(ours.url + "/_fake/control", json={}, trust_env=False).status_code == 200
    assert client.converse(modelId=throttled, messages=messages)["stopReason"] == "end_turn"


def test_a_throttle_switch_that_is_no_list_of_ids_is_refused(ours: Fake):
    refused = httpx.put(ours.url + "/_fake/control", json={"throttle": "global.x"}, trust_env=False)
    assert refused.status_code == 400 and "throttle must be a list of model ids" in refused.json()["message"]
