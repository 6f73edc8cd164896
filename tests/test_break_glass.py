"""The break-glass task's script (terraform/modules/break-glass/block-key.py), run as ECS runs it
(python3, the master key and the alias in its environment), against the genuine LiteLLM proxy: it
blocks every key of the alias, the retiring key of a rotation's overlap included, so the user gets 401
at once; it touches no other user's key and prints no key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import chat, managed_keys, reset_gateway, reset_secrets, secret_key, wait_for_status

from reconciler.plan.rotation import RETIRING_SUFFIX

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[1] / "terraform" / "modules" / "break-glass" / "block-key.py"


@pytest.fixture(autouse=True)
def clean(admin, aws_env):
    reset_gateway(admin)
    reset_secrets()


def block_key(gateway, alias: str) -> subprocess.CompletedProcess:
    # Only what the task definition gives the container: no AWS, no other variable.
    env = {"PATH": os.environ["PATH"], "LITELLM_ADMIN_URL": gateway.base_url,
           "LITELLM_MASTER_KEY": gateway.master_key, "KEY_ALIAS": alias}
    return subprocess.run([sys.executable, "-c", SCRIPT.read_text()], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_blocks_every_key_of_the_alias_and_no_other(gatewayctl, gateway, admin):
    gatewayctl("apply", "--confirm", check=True)
    alice, bob = secret_key("alice"), secret_key("bob")
    team = managed_keys(admin, "alice")[0]["team_id"]
    # The key a scheduled rotation keeps alive for its overlap window, under the retiring alias.
    retiring = admin.post("/key/generate", json={"user_id": "alice", "team_id": team, "models": ["all-team-models"],
                                                 "key_alias": "u-alice" + RETIRING_SUFFIX}).json()["key"]
    for key in (alice, retiring):
        assert chat(gateway.base_url, key, "model-cheap").status_code == 200
    bob_before = chat(gateway.base_url, bob, "model-cheap").status_code
    assert bob_before != 401

    done = block_key(gateway, "u-alice")

    assert done.returncode == 0, done.stderr
    assert done.stdout.count("blocked a key") == 2, done.stdout
    for key in (alice, retiring):
        r = wait_for_status(gateway.base_url, key, "model-cheap", 401)
        assert r.status_code == 401, r.text
    assert chat(gateway.base_url, bob, "model-cheap").status_code == bob_before
    assert not any(k.get("blocked") for k in managed_keys(admin, "bob"))
    output = done.stdout + done.stderr
    assert gateway.master_key not in output and alice not in output and retiring not in output
    assert not any(k["token"] in output for k in managed_keys(admin))


def test_unknown_alias_fails_and_bad_alias_is_refused(gatewayctl, gateway, admin):
    gatewayctl("apply", "--confirm", check=True)
    missing = block_key(gateway, "u-nobody")
    assert missing.returncode == 3 and "no key with alias u-nobody" in missing.stderr
    # Not an alias gatewayctl makes (a prefix match or another user's key would be): refused before any call.
    for alias in ("u-", "alice", "u-alice&key_alias=u-bob", "*"):
        refused = block_key(gateway, alias)
        assert refused.returncode == 2, (alias, refused.stdout, refused.stderr)
    assert not any(k.get("blocked") for k in managed_keys(admin))
