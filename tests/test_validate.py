"""gatewayctl validate: schema, rules, locations and output formats."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from helpers import run_gatewayctl_in_process, write_user

from reconciler import cli
from reconciler.desired import bedrock
from reconciler.desired.validate import check

TODAY = dt.date(2026, 11, 26)


def run_validate(root: Path, *args: str) -> subprocess.CompletedProcess:
    """`gatewayctl validate` in this process (the entry point itself: test_help_explains_itself)."""
    argv = ["validate", "--root", str(root), "--today", TODAY.isoformat(), *args]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def messages(root: Path) -> list[str]:
    diags, _ = check(root, today=TODAY)
    return [d.text() for d in diags]


def test_repository_is_valid(repo_root):
    proc = run_validate(repo_root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""


def test_tiers_are_exactly_the_contract(repo_root):
    _, state = check(repo_root, today=TODAY)
    got = {k: (t.display_name, t.monthly_budget_usd, t.rpm_limit, t.models) for k, t in state.tiers.items()}
    assert got == {
        "drafting": ("Drafting", Decimal("2.00"), 10, ("model-cheap",)),
        "coding": ("Coding", Decimal("20.00"), 50, ("model-balanced",)),
        "architect": ("Architect", Decimal("500.00"), 100, ("model-reasoning",)),
    }
    assert str(state.tiers["drafting"].monthly_budget_usd) == "2.00"  # exact, not 2.0


def test_default_models_are_global_profiles(repo_root):
    _, state = check(repo_root, today=TODAY)
    assert {a: m.bedrock_model_id for a, m in state.models.items()} == {
        "model-cheap": "global.anthropic.claude-haiku-4-5-20251001-v1:0",
        "model-balanced": "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "model-reasoning": "global.anthropic.claude-opus-4-5-20251101-v1:0",
    }
    assert state.region == "ap-south-1"


def test_broken_user_points_at_exact_line_and_column(workspace):
    path = workspace / "users" / "alice.yaml"
    lines = path.read_text().splitlines()
    idx = next(i for i, line in enumerate(lines) if line.startswith("tier:"))
    lines[idx] = "tier: platinum"
    path.write_text("\n".join(lines) + "\n")
    proc = run_validate(workspace)
    assert proc.returncode == 1
    assert proc.stdout.strip().startswith(f"users/alice.yaml:{idx + 1}:7: tier 'platinum' does not exist")
    assert "Traceback" not in proc.stderr


def test_yaml_syntax_error_is_located(workspace):
    (workspace / "users" / "bob.yaml").write_text("id: bob\nname: [unclosed\nemail: x\n")
    proc = run_validate(workspace)
    assert proc.returncode == 1
    assert proc.stdout.startswith("users/bob.yaml:3:")
    assert "invalid YAML" in proc.stdout and "Traceback" not in proc.stderr


@pytest.mark.parametrize("model_id, why", [
    ("anthropic.claude-4-5-haiku-20241022-v1:0", "does not exist on Bedrock"),
    ("us.anthropic.claude-4-5-sonnet-20241022-v2:0", "us. profiles cannot be called from ap-south-1"),
    ("us.deepseek.r1-v1:0", "us. inference profile can be called only from US regions"),
    ("anthropic.claude-opus-4-5-20251101-v1:0", "only through inference profiles"),
    ("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "only from EU regions"),
    ("global.anthropic.claude-nonexistent-9-v1:0", "not in the model registry"),
])
def test_customer_brief_ids_are_rejected_with_reason(workspace, model_id, why):
    models = workspace / "policies" / "models.yaml"
    text = models.read_text().replace("global.anthropic.claude-sonnet-4-5-20250929-v1:0", model_id)
    models.write_text(text)
    line = next(i + 1 for i, t in enumerate(text.splitlines()) if model_id in t)
    out = messages(workspace)
    hits = [m for m in out if m.startswith(f"policies/models.yaml:{line}:") and why in m]
    assert hits, out


def test_prefix_rules_follow_the_region(workspace):
    models = workspace / "policies" / "models.yaml"
    text = models.read_text().replace("region: ap-south-1", "region: us-east-1").replace(
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    models.write_text(text)
    out = [m for m in messages(workspace) if "bedrock/model-id" in m]
    assert out == []  # us. is fine from a US region (config drift is reported separately)


def test_rules_a_schema_cannot_express(workspace):
    write_user(workspace, "dave", email="alice@example.com")  # duplicate email
    write_user(workspace, "erin", owner="erin@example.com")  # self-approval
    (workspace / "users" / "frank.yaml").write_text(
        (workspace / "users" / "bob.yaml").read_text().replace("id: bob", "id: frankie").replace("bob@", "frank@"))
    write_user(workspace, "gina", extra="expires: 2020-01-31\n")
    tiers = workspace / "policies" / "tiers.yaml"
    tiers.write_text(tiers.read_text().replace("monthly_budget_usd: 2.00", "monthly_budget_usd: 2.005")
                     .replace("models: [model-balanced]", "models: [model-missing]"))
    out = "\n".join(messages(workspace))
    assert "users/dave.yaml:4:8: email 'alice@example.com' is also used by users/alice.yaml [users/unique-email]" in out
    assert "users/erin.yaml:6:8: owner (the approving manager) must not be the user themself" in out
    assert "users/frank.yaml:2:5: id 'frankie' must match the file name (frank.yaml) [users/id-matches-file]" in out
    assert "users/gina.yaml:9:10: warning: expired on 2020-01-31: the next deploy revokes gina's access" in out
    assert "budget 2.005 has more than two decimal places" in out
    assert "model alias 'model-missing' is not defined in policies/models.yaml" in out


def test_schema_errors_are_located(workspace):
    write_user(workspace, "hank", extra="shoe_size: 44\n")
    (workspace / "users" / "ivy.yaml").write_text("id: ivy\nname: Ivy\nemail: not-an-email\n")
    out = "\n".join(messages(workspace))
    assert "users/hank.yaml:9:12: document: unknown field(s) 'shoe_size'; allowed: id, name, email" in out
    assert "users/ivy.yaml:3:8: email: 'not-an-email' does not match the allowed form" in out
    assert "users/ivy.yaml:1:1: document: 'tier' is a required property" in out


def test_duplicate_keys_and_aliases_are_refused(workspace):
    (workspace / "users" / "jo.yaml").write_text("id: jo\nid: jo2\n")
    (workspace / "users" / "kim.yaml").write_text("a: &x [1, 2]\nb: *x\n")
    out = "\n".join(messages(workspace))
    assert "users/jo.yaml:2:1: duplicate key 'id' (first defined on line 1)" in out
    assert "users/kim.yaml:2:1: anchors and aliases are not allowed" in out


def test_json_and_github_formats(workspace):
    write_user(workspace, "leo", tier="gold")
    js = json.loads(run_validate(workspace, "--format", "json").stdout)
    assert js["valid"] is False and js["error_count"] == 1
    err = js["errors"][0]
    assert (err["path"], err["line"], err["col"], err["rule"]) == ("users/leo.yaml", 5, 7, "users/unknown-tier")
    gh = run_validate(workspace, "--format", "github").stdout.strip()
    assert gh.startswith("::error file=users/leo.yaml,line=5,col=7,title=users/unknown-tier::tier 'gold'")


def test_stale_gateway_config_is_an_error(workspace):
    cfg = workspace / "gateway" / "config.yaml"
    cfg.write_text(cfg.read_text().replace("global.anthropic.claude-haiku", "global.anthropic.claude-HAIKU"))
    out = messages(workspace)
    assert any(m.startswith("gateway/config.yaml:") and "[config/stale]" in m for m in out), out
    proc = run_gatewayctl_in_process(("render-config", "--root", str(workspace)), workspace, dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert messages(workspace) == []


def test_models_yaml_and_config_cannot_drift(repo_root):
    """gateway/config.yaml's model_list is exactly policies/models.yaml, and every tier model exists."""
    config = yaml.safe_load((repo_root / "gateway" / "config.yaml").read_text())
    models = yaml.safe_load((repo_root / "policies" / "models.yaml").read_text())
    tiers = yaml.safe_load((repo_root / "policies" / "tiers.yaml").read_text())
    primary = [m for m in config["model_list"] if m["litellm_params"].get("order", 1) == 1]
    got = {m["model_name"]: m["litellm_params"]["model"] for m in primary}
    assert got == {a: "bedrock/" + m["bedrock_model_id"] for a, m in models["models"].items()}
    fallbacks = {m["model_name"]: m["litellm_params"]["model"] for m in config["model_list"]
                 if m["litellm_params"].get("order") == 2}  # policies/models.yaml `fallback:`
    assert fallbacks == {a: "bedrock/" + bedrock.with_profile(m["bedrock_model_id"], m["fallback"])
                         for a, m in models["models"].items() if m.get("fallback")}
    caps = {m["model_name"]: m["litellm_params"]["max_tokens"] for m in config["model_list"]}
    assert caps == {a: m["default_max_tokens"] for a, m in models["models"].items()}
    assert all(m["litellm_params"]["aws_region_name"] == models["region"] for m in config["model_list"])
    for tier in tiers["tiers"].values():
        assert set(tier["models"]) <= set(got)


def test_every_yaml_file_names_its_schema(repo_root):
    files = [*(repo_root / "users").glob("*.yaml"), *(repo_root / "policies").glob("*.yaml")]
    for f in files:
        first = f.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=../schemas/"), f
        assert (f.parent / first.split("$schema=")[1]).resolve().is_file(), f


def test_schemas_are_valid_2020_12(repo_root):
    import jsonschema

    for path in (repo_root / "schemas").glob("*.json"):
        schema = json.loads(path.read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"].endswith(path.name) and schema["description"]
        assert schema["additionalProperties"] is False
        jsonschema.Draft202012Validator.check_schema(schema)


def test_help_explains_itself(repo_root):
    proc = run_gatewayctl_in_process(("validate", "--help"), repo_root, dict(os.environ))
    assert proc.returncode == 0 and "path:line:col" in proc.stdout and "--format" in proc.stdout


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd, check=True,
                   capture_output=True)


@pytest.fixture
def committed(workspace: Path) -> Path:
    """The workspace as a git repository whose HEAD holds the example users, alice expiring 2031-06-30."""
    _git(workspace, "init", "-q", "-b", "main")
    _git(workspace, "add", ".")
    _git(workspace, "commit", "-q", "-m", "base")
    return workspace


def test_expired_grant_warns_and_still_validates(committed):
    """On main, an expired grant must not block every deploy: it is a warning and apply revokes it."""
    proc = run_validate(committed, "--today", "2032-01-01", "--format", "github")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("::warning file=users/alice.yaml,line=9,col=10,title=users/expired::expired on")
    # Unchanged since the base: still only a warning.
    assert run_validate(committed, "--today", "2032-01-01", "--base", "HEAD").returncode == 0


@pytest.mark.parametrize("change, verb", [
    ("extend", "alters"),  # a new, still-past expiry date
    ("retier", "alters"),  # a tier change on a grant that has run out
    ("add", "adds"),  # a new user whose grant has already run out
])
def test_pr_that_adds_or_alters_an_expired_grant_is_refused(committed, change, verb):
    alice = committed / "users" / "alice.yaml"
    if change == "extend":
        alice.write_text(alice.read_text().replace("2031-06-30", "2031-12-31"))
        path = "users/alice.yaml"
    elif change == "retier":
        alice.write_text(alice.read_text().replace("tier: drafting", "tier: coding"))
        path = "users/alice.yaml"
    else:
        write_user(committed, "gina", extra="expires: 2031-12-31\n")
        path = "users/gina.yaml"
    proc = run_validate(committed, "--today", "2032-01-01", "--base", "HEAD")
    assert proc.returncode == 1
    assert f"{path}:9:10: expiry date" in proc.stdout and f"this change {verb} a grant that has already expired" \
        in proc.stdout, proc.stdout
    # Without a base (the deploy on main) the same tree only warns.
    assert run_validate(committed, "--today", "2032-01-01").returncode == 0


def test_base_must_be_a_revision(committed):
    proc = run_validate(committed, "--base", "no-such-branch")
    assert proc.returncode == 1
    assert "no such revision 'no-such-branch'" in proc.stderr


# ---------------------------------------------------------------- issue #10: names LiteLLM treats specially
def test_reserved_names_match_the_installed_litellm():
    """The list is LiteLLM's own SpecialModelNames enum (read from its source, without importing it)."""
    import importlib.util
    import re

    from reconciler.desired.validate import LITELLM_SPECIAL_MODEL_NAMES

    spec = importlib.util.find_spec("litellm")
    source = (Path(spec.origin).parent / "proxy" / "_types.py").read_text(encoding="utf-8")
    body = re.search(r"class SpecialModelNames\(enum\.Enum\):\n((?:    .*\n)+)", source).group(1)
    assert set(re.findall(r'= "([^"]+)"', body)) == set(LITELLM_SPECIAL_MODEL_NAMES)


# ---------------------------------------------------------------- issue #22: clients that omit max_tokens
def test_default_max_tokens_bound_is_what_the_installed_litellm_reserves(repo_root):
    """LiteLLM reserves this many output tokens for a request without max_tokens (read from its source,
    without importing it); the schema's maximum and default and gatewayctl's constant are that number."""
    import importlib.util
    import re

    from reconciler.desired.policy import LITELLM_RESERVED_OUTPUT_TOKENS

    spec = importlib.util.find_spec("litellm")
    source = (Path(spec.origin).parent / "proxy" / "spend_tracking" / "budget_reservation.py").read_text("utf-8")
    reserved = int(re.search(r"^DEFAULT_MAX_OUTPUT_TOKENS_FALLBACK: Final = (\d+)$", source, re.M).group(1))
    # ... and it is what LiteLLM reserves when the request names no output cap
    assert "min(DEFAULT_MAX_OUTPUT_TOKENS_FALLBACK if requested is None else requested, model_ceiling)" in source
    schema = json.loads((repo_root / "schemas" / "models.schema.json").read_text())
    field = schema["properties"]["models"]["additionalProperties"]["properties"]["default_max_tokens"]
    assert reserved == LITELLM_RESERVED_OUTPUT_TOKENS == field["maximum"] == field["default"]


def set_model(workspace: Path, alias_id: str, new_id: str, cap: str | None) -> Path:
    """Give one model of the workspace's models.yaml another Bedrock ID and default_max_tokens (None: none)."""
    path = workspace / "policies" / "models.yaml"
    lines = path.read_text().splitlines()
    at = lines.index(f"    bedrock_model_id: {alias_id}")
    lines[at] = f"    bedrock_model_id: {new_id}"
    assert lines[at + 1] == "    default_max_tokens: 16384"
    lines[at + 1:at + 2] = [] if cap is None else [f"    default_max_tokens: {cap}"]
    path.write_text("\n".join(lines) + "\n")
    return path


HAIKU_45 = "global.anthropic.claude-haiku-4-5-20251001-v1:0"


def test_default_max_tokens_reaches_the_config_and_defaults_to_what_litellm_reserves(workspace):
    set_model(workspace, HAIKU_45, HAIKU_45, "4096")
    set_model(workspace, "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
              "global.anthropic.claude-sonnet-4-5-20250929-v1:0", None)
    assert run_gatewayctl_in_process(("render-config", "--root", str(workspace)), workspace,
                                     dict(os.environ)).returncode == 0
    config = yaml.safe_load((workspace / "gateway" / "config.yaml").read_text())
    caps = {m["model_name"]: m["litellm_params"]["max_tokens"] for m in config["model_list"]}
    assert caps == {"model-cheap": 4096, "model-balanced": 16384, "model-reasoning": 16384}
    assert messages(workspace) == []


@pytest.mark.parametrize("cap, why", [
    ("16385", "default_max_tokens: 16385 is greater than the maximum of 16384"),
    ("0", "default_max_tokens: 0 is less than the minimum of 1"),
    ("8193", "default_max_tokens 8193 is more than anthropic.claude-3-5-haiku-20241022-v1:0 can produce "
             "(8192 output tokens at most); set it to 8192 or less [models/default-max-tokens]"),
    (None, "default_max_tokens 16384 is more than anthropic.claude-3-5-haiku-20241022-v1:0 can produce"),
])
def test_default_max_tokens_is_checked(workspace, cap, why):
    """Above what LiteLLM reserves (16384) the one-request bound would not hold; above the model's maximum
    output Bedrock refuses every request that omits max_tokens. The default, too, is checked."""
    lines = set_model(workspace, HAIKU_45, "anthropic.claude-3-5-haiku-20241022-v1:0", cap).read_text().splitlines()
    # at the field, or at the model's entry when the default is what is too high
    line = 1 + lines.index("    default_max_tokens: " + cap if cap else "    display_name: Claude Haiku 4.5")
    out = [m for m in messages(workspace) if "default_max_tokens" in m]
    assert len(out) == 1 and out[0].startswith(f"policies/models.yaml:{line}:") and why in out[0], out


def drafting_models_line(tiers: Path) -> int:
    """The line of the drafting tier's `models:` (the comments above the tiers may grow)."""
    return 1 + tiers.read_text().splitlines().index("    models: [model-cheap]")


@pytest.mark.parametrize("name", ["all-proxy-models", "all-team-models", "no-default-models"])
def test_reserved_model_alias_is_rejected_in_models_and_tiers(workspace, name):
    """An alias named like a LiteLLM sentinel, used by a tier, would grant every model: a PR that
    looks like a rename. Both the alias and the tier's use of it are rejected, with the reason."""
    models = workspace / "policies" / "models.yaml"
    alias_line = 1 + models.read_text().splitlines().index("  model-cheap:")
    models.write_text(models.read_text().replace("  model-cheap:", f"  {name}:"))
    tiers = workspace / "policies" / "tiers.yaml"
    line = drafting_models_line(tiers)
    tiers.write_text(tiers.read_text().replace("models: [model-cheap]", f"models: [{name}]"))
    proc = run_validate(workspace)
    assert proc.returncode == 1
    assert f"policies/models.yaml:{alias_line}:3: model alias '{name}' is reserved: LiteLLM reads it as" in proc.stdout
    assert "[models/reserved-name]" in proc.stdout
    assert f"policies/tiers.yaml:{line}:14: model '{name}' is reserved" in proc.stdout
    assert "[tiers/reserved-model]" in proc.stdout


@pytest.mark.parametrize("name", ["*", "bedrock/*", "model-*", "bedrock/global.anthropic.x"])
def test_wildcards_and_provider_routes_are_rejected_in_tiers(workspace, name):
    from reconciler.desired.validate import reserved_model_name

    assert reserved_model_name(name)
    tiers = workspace / "policies" / "tiers.yaml"
    line = drafting_models_line(tiers)
    tiers.write_text(tiers.read_text().replace("models: [model-cheap]", f'models: ["{name}"]'))
    proc = run_validate(workspace)
    assert proc.returncode == 1 and f"policies/tiers.yaml:{line}:14:" in proc.stdout, proc.stdout


# ---------------------------------------------------------------- issue #10: symlinks and special files
OUTSIDE_TEXT = "id: private-content-of-another-file\n"


def test_symlinked_user_file_is_refused_and_never_read(workspace, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "secret.yaml"
    outside.write_text(OUTSIDE_TEXT)
    (workspace / "users" / "mallory.yaml").symlink_to(outside)
    for fmt in ("text", "github", "json"):
        proc = run_validate(workspace, "--format", fmt)
        assert proc.returncode == 1
        assert "users/mallory.yaml" in proc.stdout and "not-a-regular-file" in proc.stdout
        assert "private-content" not in proc.stdout + proc.stderr


def test_symlink_to_a_file_inside_the_repo_is_refused_too(workspace):
    (workspace / "users" / "alias.yaml").symlink_to(workspace / "users" / "bob.yaml")
    assert any("users/alias.yaml:1:1: only regular files belong in users/" in m for m in messages(workspace))


def test_symlinked_policy_file_and_folder_are_refused(workspace, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "tiers.yaml"
    outside.write_text(OUTSIDE_TEXT)
    tiers = workspace / "policies" / "tiers.yaml"
    tiers.unlink()
    tiers.symlink_to(outside)
    out = "\n".join(messages(workspace))
    assert "policies/tiers.yaml:1:1: symbolic links are not allowed here" in out and "private-content" not in out

    elsewhere = tmp_path_factory.mktemp("users-elsewhere")
    (workspace / "users").rename(elsewhere / "users")
    (workspace / "users").symlink_to(elsewhere / "users")
    assert any(m.startswith("users:1:1: users/ must be a directory") for m in messages(workspace))


def test_fifo_and_directory_in_users_are_refused_without_blocking(workspace):
    import os

    os.mkfifo(workspace / "users" / "pipe.yaml")  # opening it for reading would block forever
    (workspace / "users" / "dir.yaml").mkdir()
    out = messages(workspace)
    assert any(m.startswith("users/pipe.yaml:1:1:") and "not-a-regular-file" in m for m in out), out
    assert any(m.startswith("users/dir.yaml:1:1:") and "not-a-regular-file" in m for m in out), out


# ---------------------------------------------------------------- issue 19: allowed mail domains
def test_email_and_owner_outside_the_allowed_domains_are_refused_at_their_line(workspace):
    write_user(workspace, "eve", email="eve@evil.example.net")
    write_user(workspace, "evan", owner="boss@gmail.com")
    proc = run_validate(workspace)
    assert proc.returncode == 1
    assert ("users/eve.yaml:4:8: email 'eve@evil.example.net': the domain 'evil.example.net' is not one of "
            "policies/email.yaml's email_domains (example.com) [users/email-domain]") in proc.stdout, proc.stdout
    assert "users/evan.yaml:6:8: owner 'boss@gmail.com': the domain 'gmail.com'" in proc.stdout, proc.stdout
    assert "users/eve.yaml:6" not in proc.stdout and "users/evan.yaml:4" not in proc.stdout
    write_user(workspace, "eve", email="Eve@EXAMPLE.com")  # domains compare case-insensitively
    write_user(workspace, "evan")
    assert run_validate(workspace).returncode == 0


def test_the_domain_list_is_required_and_checked_by_its_schema(workspace):
    policy = workspace / "policies" / "email.yaml"
    policy.write_text("email_domains:\n  - example.com\n  - '*.example.com'\n")
    out = "\n".join(messages(workspace))
    assert "policies/email.yaml:3:5: email_domains.1: '*.example.com' does not match the allowed form" in out, out
    policy.write_text("email_domains:\n  - sub.example.com\n")  # exact: example.com itself is no longer allowed
    assert any("users/" in m and "[users/email-domain]" in m for m in messages(workspace))
    policy.unlink()
    out = "\n".join(messages(workspace))
    assert "policies/email.yaml:1:1: cannot read file" in out, out


# ---------------------------------------------------------------- issue 19: no symlink is read, whatever the file
def _link_to_a_copy(path: Path, elsewhere: Path) -> None:
    """Replace `path` with a symbolic link to an identical copy outside the repository: the content
    is valid, so only the refusal to follow links can fail the check."""
    copy = elsewhere / path.name
    copy.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(copy)


@pytest.mark.parametrize("rel", ["schemas/user.schema.json", "schemas/tiers.schema.json", "gateway/config.yaml"])
def test_symlinked_schema_and_gateway_config_are_refused(workspace, tmp_path_factory, rel):
    _link_to_a_copy(workspace / rel, tmp_path_factory.mktemp("outside"))
    proc = run_validate(workspace)
    assert proc.returncode == 1
    assert f"{rel}:1:1: symbolic links are not allowed here; commit a regular file [not-a-regular-file]" \
        in proc.stdout, proc.stdout


@pytest.mark.parametrize("folder", ["schemas", "gateway"])
def test_symlinked_schemas_and_gateway_folders_are_refused(workspace, tmp_path_factory, folder):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (workspace / folder).rename(elsewhere / folder)
    (workspace / folder).symlink_to(elsewhere / folder)
    proc = run_validate(workspace)
    assert proc.returncode == 1
    assert f"{folder}:1:1: {folder}/ must be a directory in the repository, not a symbolic link" in proc.stdout


def test_render_config_writes_through_no_planted_link(workspace, tmp_path_factory):
    victim = tmp_path_factory.mktemp("outside") / "victim.txt"
    victim.write_text("untouched\n")
    (workspace / "gateway" / "config.yaml.tmp").symlink_to(victim)
    (workspace / "gateway" / "config.yaml").write_text("stale\n")
    code = cli.main(["render-config", "--root", str(workspace)])
    assert code == 0 and victim.read_text() == "untouched\n"
    config = workspace / "gateway" / "config.yaml"
    assert not config.is_symlink() and run_validate(workspace).returncode == 0
    _link_to_a_copy(config, tmp_path_factory.mktemp("elsewhere"))
    assert cli.main(["render-config", "--root", str(workspace), "--check"]) == 1


def test_self_service_reads_no_linked_user_file(workspace, tmp_path_factory):
    from reconciler.selfservice.employee import SelfServiceError, resolve_user_id

    outside = tmp_path_factory.mktemp("outside") / "mallory.yaml"
    outside.write_text("id: mallory\nemail: mallory@example.com\n")
    (workspace / "users" / "mallory.yaml").symlink_to(outside)
    with pytest.raises(SelfServiceError):
        resolve_user_id(workspace, "mallory@example.com")
    assert resolve_user_id(workspace, "bob") == "bob"


def test_rules_are_data_each_declared_once_and_check_runs_every_one(workspace, monkeypatch):
    """reconciler/desired/rules.py: each rule once, with its id; check() is a loop over the table, so a rule added
    to it runs, and its finding points at the file, line and column of the node it names."""
    from reconciler.desired import rules

    ids = [r.id for r in rules.RULES]
    assert len(ids) == len(set(ids)) and all(r.applies_to in ("model", "tier", "user", "exception")
                                              for r in rules.RULES)
    added = rules.Rule("users/test-only", "user",
                       lambda s: [rules.Finding(("owner",), "flagged")] if s.spec["id"] == "alice" else [])
    monkeypatch.setattr(rules, "RULES", (*rules.RULES, added))
    diags, state = check(workspace, today=dt.date(2026, 1, 1))
    (found,) = [d for d in diags if d.rule == "users/test-only"]
    owner_line = next(i for i, line in enumerate((workspace / "users" / "alice.yaml").read_text().splitlines(), 1)
                      if line.startswith("owner:"))
    assert (found.path, found.line, found.message) == ("users/alice.yaml", owner_line, "flagged")
    assert state is None  # an error like any other
