"""Residency and routing as policy: a model's inference profile (its ID's prefix) and `fallback:` checked
against the pinned table of what Bedrock offers from ap-south-1 (policies/bedrock-profiles.yaml), prices
from the pinned LiteLLM, end-of-life warnings, and the price change per tier a models.yaml PR shows."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import subprocess
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import yaml

from reconciler import cli
from reconciler.desired import bedrock, policy_diff
from reconciler.desired.validate import check

REPO = Path(__file__).resolve().parent.parent
HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
SWITCH = ("bedrock_model_id: global.anthropic.claude-haiku", "bedrock_model_id: apac.anthropic.claude-haiku")


def gatewayctl(root: Path, *args: str) -> subprocess.CompletedProcess:
    argv = [args[0], "--root", str(root), *args[1:]]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (old, path)
    path.write_text(text.replace(old, new), encoding="utf-8")


def texts(root: Path, today: dt.date, **kw) -> list[str]:
    return [d.text() for d in check(root, today=today, **kw)[0]]


def test_switching_model_cheap_to_apac_is_one_line_that_validate_and_render_config_follow(workspace, day):
    models = workspace / "policies" / "models.yaml"
    before = models.read_text().splitlines()
    edit(models, *SWITCH)
    assert sum(a != b for a, b in zip(before, models.read_text().splitlines(), strict=True)) == 1
    assert gatewayctl(workspace, "render-config").returncode == 0
    proc = gatewayctl(workspace, "validate", "--today", day(0))
    assert proc.returncode == 0, proc.stdout
    # model-cheap's `fallback: apac` now names its own profile: a warning, and no fallback deployment.
    assert re.search(r"policies/models\.yaml:\d+:\d+: warning: fallback apac is the profile apac\.anthropic.*"
                     r"\[models/fallback\]", proc.stdout), proc.stdout
    config = yaml.safe_load((workspace / "gateway" / "config.yaml").read_text())
    cheap = [d["litellm_params"] for d in config["model_list"] if d["model_name"] == "model-cheap"]
    assert [d["model"] for d in cheap] == [f"bedrock/apac.{HAIKU}"] and "order" not in cheap[0]


def test_the_repository_default_renders_the_fallback_as_a_second_deployment_of_the_alias(repo_root):
    models = yaml.safe_load((repo_root / "policies" / "models.yaml").read_text())["models"]
    config = yaml.safe_load((repo_root / "gateway" / "config.yaml").read_text())
    for alias, spec in models.items():
        got = [(d["litellm_params"]["model"], d["litellm_params"].get("order"))
               for d in config["model_list"] if d["model_name"] == alias]
        want = [("bedrock/" + spec["bedrock_model_id"], None)]
        if spec.get("fallback"):
            want = [(want[0][0], 1), ("bedrock/" + bedrock.with_profile(spec["bedrock_model_id"], spec["fallback"]), 2)]
        assert got == want, alias


def test_a_profile_or_fallback_the_table_does_not_offer_is_refused_at_its_line(workspace, day):
    models = workspace / "policies" / "models.yaml"
    edit(models, "    bedrock_model_id: global.anthropic.claude-opus-4-5-20251101-v1:0\n",
         "    bedrock_model_id: global.anthropic.claude-opus-4-5-20251101-v1:0\n    fallback: eu\n")
    found = texts(workspace, dt.date.fromisoformat(day(0)))
    line = models.read_text().splitlines().index("    fallback: eu") + 1
    assert any(t.startswith(f"policies/models.yaml:{line}:") and "Bedrock offers anthropic.claude-opus-4-5-20251101"
               "-v1:0 from ap-south-1 only as global" in t and t.endswith("[models/fallback]") for t in found), found
    # A profile the table lacks for the model, though LiteLLM prices the ID (au.: not offered from here).
    edit(models, "global.anthropic.claude-sonnet-4-5", "au.anthropic.claude-sonnet-4-5")
    found = texts(workspace, dt.date.fromisoformat(day(0)))
    assert any("only as global" in t and t.endswith("[bedrock/profile-offered]") for t in found), found


def test_an_offered_profile_the_pinned_litellm_cannot_price_is_refused(workspace, day):
    """Budgets depend on LiteLLM's price: a profile AWS offers but LiteLLM 1.108.7 cannot price must fail."""
    table = workspace / "policies" / "bedrock-profiles.yaml"
    edit(table, "  anthropic.claude-sonnet-4-5-20250929-v1:0:\n    profiles:\n      global: [commercial]\n",
         "  anthropic.claude-sonnet-4-5-20250929-v1:0:\n    profiles:\n      global: [commercial]\n"
         "      apac: [ap-south-1]\n")
    assert bedrock.prices("apac.anthropic.claude-sonnet-4-5-20250929-v1:0") is None
    sonnet = "    bedrock_model_id: global.anthropic.claude-sonnet-4-5-20250929-v1:0\n"
    edit(workspace / "policies" / "models.yaml", sonnet, sonnet + "    fallback: apac\n")
    diags, state = check(workspace, today=dt.date.fromisoformat(day(0)))
    assert state is None
    assert [d.rule for d in diags if d.is_error] == ["bedrock/priced"], [d.text() for d in diags]


def test_a_model_missing_from_the_table_is_refused(workspace, day):
    edit(workspace / "policies" / "bedrock-profiles.yaml", f"  {HAIKU}:", "  anthropic.claude-haiku-4-5-renamed:")
    found = texts(workspace, dt.date.fromisoformat(day(0)))
    assert any(f"{HAIKU} is not in policies/bedrock-profiles.yaml" in t and t.endswith("[bedrock/profile-offered]")
               for t in found), found


def test_end_of_life_warns_within_60_days_and_fails_from_that_day(workspace, day):
    """The clock is injected (--today); the end-of-life date is set relative to it, so nothing rots."""
    table = workspace / "policies" / "bedrock-profiles.yaml"
    data = yaml.safe_load(table.read_text())
    today = dt.date.fromisoformat(day(0))

    def at(eol_in_days: int, **kw) -> list[str]:
        data["models"][HAIKU]["end_of_life"] = (today + dt.timedelta(days=eol_in_days)).isoformat()
        table.write_text(yaml.safe_dump(data))
        return [t for t in texts(workspace, today, **kw) if t.endswith("[bedrock/end-of-life]")]

    assert at(61) == []
    (warning,) = at(60)
    assert re.match(r"policies/models\.yaml:\d+:\d+: warning: anthropic\.claude-haiku-4-5-20251001-v1:0 reaches its "
                    r"Bedrock end of life on .*, in 60 days", warning), warning
    (error,) = at(0)
    assert ": warning:" not in error and "reached its Bedrock end of life" in error
    proc = gatewayctl(workspace, "validate", "--today", day(0))
    assert proc.returncode == 1 and "[bedrock/end-of-life]" in proc.stdout
    # plan and apply (allow_expired) still run, so a retired model never blocks a revocation.
    (still,) = at(-1, allow_expired=True)
    assert ": warning:" in still


def test_the_terraform_fixture_is_the_one_line_switch_of_the_repositorys_models_yaml(repo_root):
    fixture = repo_root / "terraform" / "environments" / "production" / "tests" / "fixtures" / "models-cheap-apac.yaml"
    assert fixture.read_text() == (repo_root / "policies" / "models.yaml").read_text().replace(*SWITCH)


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                   check=True, capture_output=True)


def _typical(model_id: str, budget: Decimal) -> int:
    rate_in, rate_out = bedrock.prices(model_id)
    cost = policy_diff.TYPICAL_INPUT_TOKENS * rate_in + policy_diff.TYPICAL_OUTPUT_TOKENS * rate_out
    return int((budget / cost).to_integral_value(ROUND_FLOOR))


def test_a_models_yaml_pr_shows_each_tiers_price_change_and_what_a_budget_buys(workspace):
    _git(workspace, "init", "-q", "-b", "main")
    _git(workspace, "add", ".")
    _git(workspace, "commit", "-q", "-m", "base")
    assert gatewayctl(workspace, "price-review", "--base", "HEAD").stdout == ""  # nothing changed: no section

    edit(workspace / "policies" / "models.yaml", *SWITCH)
    proc = gatewayctl(workspace, "price-review", "--base", "HEAD")
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| drafting")]
    assert len(rows) == 1 and "| coding" not in proc.stdout and "| architect" not in proc.stdout, proc.stdout
    before, after = f"global.{HAIKU}", f"apac.{HAIKU}"
    per_million = [(p * 1_000_000).normalize() for p in (*bedrock.prices(before), *bedrock.prices(after))]
    assert per_million[:2] != per_million[2:]
    budget = Decimal(str(yaml.safe_load((workspace / "policies" / "tiers.yaml").read_text())
                         ["tiers"]["drafting"]["monthly_budget_usd"]))
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[2].startswith(f"`{before}` → **`{after}`**")
    shown = [Decimal(x) for x in re.findall(r"\$([0-9.]+)", cells[3] + cells[4])]  # in before, after; out before, after
    assert shown == per_million[0::2] + per_million[1::2]
    assert cells[6] == f"{_typical(before, budget):,} → **{_typical(after, budget):,}**"
    assert f"{policy_diff.TYPICAL_INPUT_TOKENS:,} input and {policy_diff.TYPICAL_OUTPUT_TOKENS:,} output" in proc.stdout


def test_price_review_refuses_an_unknown_base(workspace):
    _git(workspace, "init", "-q", "-b", "main")
    proc = gatewayctl(workspace, "price-review", "--base", "no-such-ref")
    assert proc.returncode != 0


def test_a_tiers_request_bound_covers_the_dearer_fallback(workspace, day):
    """A call the fallback serves bills at its price: max_request_usd must hold for it too."""
    worst = bedrock.worst_request_usd(f"global.{HAIKU}")
    assert worst < bedrock.worst_request_usd(f"apac.{HAIKU}")
    tiers = workspace / "policies" / "tiers.yaml"
    tiers.write_text(re.sub(r"max_request_usd: 0\.58.*", f"max_request_usd: {worst:.2f}", tiers.read_text(), count=1))
    found = texts(workspace, dt.date.fromisoformat(day(0)))
    assert any(f"apac.{HAIKU}: whole context in" in t and t.endswith("[tiers/request-bound]") for t in found), found
