"""Guardrails as policy, without a proxy: a tier's `guardrail:` is validated with file:line errors, renders
to guardrailConfig on exactly that tier's model deployments, describes its changes for the PR comment, and
the fake Bedrock answers a guardrailConfig as Bedrock does (tests/test_guardrails_proxy.py: the same on
the genuine proxy)."""

from __future__ import annotations

import datetime as dt
import json
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from reconciler import cli
from reconciler.desired import guardrails
from reconciler.desired.validate import check

REPO = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 1, 1)


def messages(root: Path) -> list[str]:
    return [d.text() for d in check(root, today=TODAY)[0]]


def edit_tiers(workspace: Path, change) -> None:
    path = workspace / "policies" / "tiers.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc["tiers"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


# ------------------------------------------------------------------ render


def test_config_names_each_guarded_tiers_guardrail_by_environment_only():
    """On every deployment of the tier's model, the fallback's too: a throttled primary must not hand a
    guarded tier's call to an unguarded deployment."""
    config = yaml.safe_load((REPO / "gateway" / "config.yaml").read_text())
    deployments: dict[str, list[dict]] = {}
    for m in config["model_list"]:
        deployments.setdefault(m["model_name"], []).append(m["litellm_params"])
    assert len(deployments["model-cheap"]) == 2, "model-cheap has its primary and its fallback deployment"
    for params in deployments["model-cheap"]:
        assert params["guardrailConfig"] == {
            "guardrailIdentifier": "os.environ/GUARDRAIL_DRAFTING_ID",
            "guardrailVersion": "os.environ/GUARDRAIL_DRAFTING_VERSION", "trace": "disabled"}
    for params in deployments["model-balanced"]:
        assert params["guardrailConfig"]["guardrailIdentifier"] == "os.environ/GUARDRAIL_CODING_ID"
    assert all("guardrailConfig" not in p for p in deployments["model-reasoning"])  # Architect is not guarded


def test_removing_a_tiers_guardrail_makes_the_committed_config_stale(workspace):
    edit_tiers(workspace, lambda t: t["coding"].pop("guardrail"))
    assert any("gateway/config.yaml" in m and "[config/stale]" in m for m in messages(workspace))

    assert cli.main(["render-config", "--root", str(workspace)]) == 0
    assert "GUARDRAIL_CODING" not in (workspace / "gateway" / "config.yaml").read_text()
    assert messages(workspace) == []


# ------------------------------------------------------------------ validate


def test_a_guarded_tiers_model_must_be_its_own(workspace):
    edit_tiers(workspace, lambda t: t["architect"].update(models=["model-reasoning", "model-cheap"]))
    out = "\n".join(messages(workspace))
    assert "policies/tiers.yaml:" in out
    assert ("model 'model-cheap' is also a model of tier 'drafting', and drafting is guarded: a guardrail "
            "applies to a model deployment" in out)
    assert "[tiers/guardrail-model]" in out


def test_a_guardrail_without_a_policy_and_a_topic_named_twice_are_refused(workspace):
    def change(t):
        t["coding"]["guardrail"].pop("pii")
        t["drafting"]["guardrail"]["denied_topics"].append({"name": "INVESTMENT ADVICE", "definition": "again"})

    edit_tiers(workspace, change)
    out = "\n".join(messages(workspace))
    assert "a guardrail needs at least one policy" in out and "[tiers/guardrail-no-policy]" in out
    assert "denied topic 'INVESTMENT ADVICE' is named twice" in out and "[tiers/guardrail-topic-name]" in out


@pytest.mark.parametrize(("change", "expected"), [
    (lambda g: g["pii"].update(AADHAAR="BLOCK"), "'AADHAAR' is not one of"),
    (lambda g: g["pii"].update(EMAIL="MASK"), "'MASK' is not one of ['BLOCK', 'ANONYMIZE']"),
    (lambda g: g.update(content_filter_strength="EXTREME"), "'EXTREME' is not one of"),
    (lambda g: g.pop("blocked_input_messaging"), "'blocked_input_messaging' is a required property"),
])
def test_the_schema_keeps_a_guardrail_to_what_bedrock_supports(workspace, change, expected):
    edit_tiers(workspace, lambda t: change(t["drafting"]["guardrail"]))
    out = "\n".join(messages(workspace))
    assert expected in out and "policies/tiers.yaml:" in out


def test_the_schema_lists_botocores_pii_entity_types():
    botocore_session = pytest.importorskip("botocore.session")
    model = botocore_session.get_session().get_service_model("bedrock")
    schema = json.loads((REPO / "schemas" / "tiers.schema.json").read_text())
    pii = schema["properties"]["tiers"]["additionalProperties"]["properties"]["guardrail"]["properties"]["pii"]
    assert sorted(pii["propertyNames"]["enum"]) == sorted(model.shape_for("GuardrailPiiEntityType").enum)


# ------------------------------------------------------------------ changes for the PR comment


def test_changes_name_the_tier_and_each_setting_before_and_after():
    tiers = yaml.safe_load((REPO / "policies" / "tiers.yaml").read_text())["tiers"]
    before = {k: guardrails.parse(v.get("guardrail")) for k, v in tiers.items()}
    after = dict(before)
    spec = json.loads(json.dumps(tiers["drafting"]["guardrail"]))
    spec["pii"]["EMAIL"] = "BLOCK"
    spec["content_filter_strength"] = "HIGH"
    after["drafting"] = guardrails.parse(spec)
    after["coding"] = None

    lines = guardrails.changes(before, after)
    assert "- tier `drafting`: pii EMAIL: `ANONYMIZE` → `BLOCK`" in lines
    assert "- tier `drafting`: content filters: `MEDIUM` → `HIGH`" in lines
    assert "- tier `coding`: guardrail removed" in lines
    assert "- tier `coding`: pii AWS_ACCESS_KEY: `BLOCK` → (none)" in lines
    assert not any("architect" in line for line in lines)
    assert guardrails.changes(before, before) == []


# ------------------------------------------------------------------ the fake Bedrock


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[str]:
    tiers = yaml.safe_load((REPO / "policies" / "tiers.yaml").read_text())["tiers"]
    _, definitions = guardrails.local_setup(tiers)
    (tmp_path / "guardrails.json").write_text(json.dumps(definitions))
    ready = tmp_path / "port"
    proc = subprocess.Popen([sys.executable, str(REPO / "tools" / "fake-bedrock" / "fake-bedrock"), "--port", "0",
                             "--ready-file", str(ready), "--guardrails", str(tmp_path / "guardrails.json"),
                             "--input-tokens", "10", "--output-tokens", "5"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not ready.is_file():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    yield f"http://127.0.0.1:{int(ready.read_text())}"
    proc.terminate()
    proc.wait(timeout=10)


def converse(url: str, text: str, guardrail: str = "localdrafting", stream: bool = False, **config) -> httpx.Response:
    body = {"messages": [{"role": "user", "content": [{"guardContent": {"text": {"text": text}}}]}],
            "guardrailConfig": {"guardrailIdentifier": guardrail, "guardrailVersion": "1", **config}}
    op = "converse-stream" if stream else "converse"
    return httpx.post(f"{url}/model/m/{op}", json=body, timeout=30, trust_env=False)


def events(stream: bytes) -> list[dict]:
    out = []
    while stream:
        total, headers = struct.unpack(">II", stream[:8])
        out.append(json.loads(stream[12 + headers:total - 4]))
        stream = stream[total:]
    return out


def test_an_unknown_guardrail_is_bedrocks_validation_error(fake):
    answer = converse(fake, "hi", guardrail="nosuchguardrail")
    assert answer.status_code == 400
    assert answer.headers["x-amzn-ErrorType"] == "ValidationException"
    assert "guardrail identifier or version" in answer.json()["message"]


def test_a_blocked_prompt_costs_no_tokens_and_its_trace_names_the_match(fake):
    answer = converse(fake, "card 4111 1111 1111 1111", trace="enabled").json()
    assert answer["stopReason"] == "guardrail_intervened"
    assert answer["usage"] == {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}
    pii = answer["trace"]["guardrail"]["inputAssessment"]["localdrafting"]["sensitiveInformationPolicy"]
    assert pii["piiEntities"] == [{"match": "4111 1111 1111 1111", "type": "CREDIT_DEBIT_CARD_NUMBER",
                                   "detected": True, "action": "BLOCKED"}]


def test_a_denied_topic_is_blocked_and_a_card_like_number_failing_luhn_is_not(fake):
    topic = converse(fake, "Which mutual fund should I tell the customer to buy?").json()
    assert topic["stopReason"] == "guardrail_intervened"
    assert "trace" not in topic  # trace off (the gateway's setting): no assessment goes back
    plain = converse(fake, "order 4111 1111 1111 1112").json()
    assert (plain["stopReason"], plain["output"]["message"]["content"][0]["text"]) == \
        ("end_turn", "hello from fake bedrock")


def test_a_streamed_answer_is_masked_with_the_trace_on_the_metadata_event(fake):
    httpx.put(fake + "/_fake/control", json={"text": "mail bob@example.com now"}, trust_env=False).raise_for_status()
    answer = converse(fake, "hello", stream=True, trace="enabled")
    got = events(answer.content)
    text = "".join(e["delta"]["text"] for e in got if "delta" in e)
    assert text == "mail {EMAIL} now"
    assert {"stopReason": "guardrail_intervened"} in got
    assert got[-1]["usage"] == {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}
    assert "localdrafting" in got[-1]["trace"]["guardrail"]["outputAssessments"]


def test_the_text_switch_is_checked_when_it_is_set(fake):
    refused = httpx.put(fake + "/_fake/control", json={"text": ""}, trust_env=False)
    assert refused.status_code == 400 and "text must be a string" in refused.json()["message"]


def test_the_pr_comment_section_shows_a_tiers_guardrail_change_against_the_base(workspace, capsys):
    """scripts/ci/pr-plan appends `gatewayctl guardrails --base HEAD` to plan.md: HEAD is the base branch's
    commit, the working tree's policies/ the pull request's."""
    for args in (("init", "-q", "-b", "main"), ("add", "."), ("-c", "user.email=t@example.com", "-c", "user.name=t",
                                                            "commit", "-q", "-m", "base")):
        subprocess.run(["git", "-C", str(workspace), *args], check=True, capture_output=True)
    assert cli.main(["guardrails", "--root", str(workspace), "--base", "HEAD"]) == 0
    assert capsys.readouterr().out == ""  # no change, no section

    def change(t):
        t["drafting"]["guardrail"]["pii"]["EMAIL"] = "BLOCK"
        t["architect"]["guardrail"] = {"pii": {"NAME": "ANONYMIZE"}, "blocked_input_messaging": "no",
                                       "blocked_outputs_messaging": "withheld `x`"}

    edit_tiers(workspace, change)
    assert cli.main(["guardrails", "--root", str(workspace), "--base", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert "#### Guardrail changes" in out
    assert "- tier `drafting`: pii EMAIL: `ANONYMIZE` → `BLOCK`" in out
    assert "- tier `architect`: guardrail added" in out
    assert "- tier `architect`: pii NAME: (none) → `ANONYMIZE`" in out
    assert "blocked output message: (none) → `withheld 'x'`" in out  # a backtick cannot end the code span
    assert "coding" not in out
    assert "guardrails --base HEAD >>plan.md" in (REPO / "scripts" / "ci" / "pr-plan").read_text()


def test_without_a_guardrails_file_the_fake_ignores_guardrail_config(tmp_path):
    """compose.yaml's stack starts the fake without --guardrails: its guarded tiers answer unguarded."""
    ready = tmp_path / "port"
    proc = subprocess.Popen([sys.executable, str(REPO / "tools" / "fake-bedrock" / "fake-bedrock"), "--port", "0",
                             "--ready-file", str(ready)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not ready.is_file():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        answer = converse(f"http://127.0.0.1:{int(ready.read_text())}", "card 4111 1111 1111 1111")
        assert answer.status_code == 200 and answer.json()["stopReason"] == "end_turn"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_compose_gives_the_proxy_every_guardrail_variable_the_config_names():
    config = (REPO / "gateway" / "config.yaml").read_text().splitlines()
    names = {line.split("os.environ/", 1)[1].strip() for line in config if "os.environ/GUARDRAIL_" in line}
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    assert names and names <= set(compose["x-litellm-env"])
