"""Every workflow job that assumes an AWS role can assume exactly the role it names, and nothing that
should not reach a role can (issue #9).

The token claims are computed from the workflows as GitHub computes them (the `sub` claim with the
repository's customised template: repo, context, job_workflow_ref), and evaluated against the trust
policies in `terraform plan` JSON of terraform/bootstrap and terraform/environments/production, planned
against the AWS emulator. Which secret holds which role comes from the roots' `github_actions_secrets`
outputs, the same values the runbook tells the operator to set.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
from dataclasses import dataclass

import pytest
import yaml
from stack import GITHUB_REPOSITORY, REPO, Rehearsal

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("terraform") is None,
                                                   reason="terraform is not on PATH")]

ISSUER = "token.actions.githubusercontent.com"
WORKFLOWS = REPO / ".github" / "workflows"
ROLE_SECRET = re.compile(r"\$\{\{\s*secrets\.([A-Z0-9_]+)\s*\}\}")


# ---------------------------------------------------------------------------- GitHub's side
@dataclass(frozen=True)
class Job:
    workflow: str  # file name
    job: str
    role_secret: str
    environment: str | None


def assuming_jobs() -> list[Job]:
    """Every job that requests an OIDC token and hands it to configure-aws-credentials."""
    found = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        doc = yaml.safe_load(path.read_text())
        for name, job in (doc.get("jobs") or {}).items():
            if (job.get("permissions") or {}).get("id-token") != "write":
                continue
            for step in job.get("steps") or []:
                if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"):
                    secret = ROLE_SECRET.search(str(step["with"]["role-to-assume"])).group(1)
                    env = job.get("environment")
                    found.append(Job(path.name, name, secret, env if isinstance(env, str) else (env or {}).get("name")))
    return found


@dataclass(frozen=True)
class Run:
    """One way a workflow can run: the event, the ref it runs on, and whether the PR comes from a fork."""
    event: str
    ref: str
    fork: bool = False
    workflow: str | None = None  # another workflow file with the same job (a copy on some branch)
    approved: bool = True  # a required reviewer approved the run (environments with reviewers only)


# The environments docs/runbook.md ("First deploy") has the operator create with required reviewers:
# GitHub starts a job in one of them, and so issues its token, only after a reviewer approves the run.
REVIEWED_ENVIRONMENTS = {"production", "pr-plan"}


def token_claims(job: Job, run: Run) -> dict[str, str] | None:
    """The OIDC claims GitHub puts in the job's token, or None when GitHub issues no token."""
    if run.event == "pull_request" and run.fork:
        return None  # GitHub gives pull_request runs from forks no id-token, whatever the permissions say
    if job.environment in REVIEWED_ENVIRONMENTS and not run.approved:
        return None  # the job waits for a reviewer: it has not started, so it has no token
    if job.environment:
        context = f"environment:{job.environment}"
    elif run.event == "pull_request":
        context = "pull_request"
    else:
        context = f"ref:{run.ref}"
    workflow = run.workflow or job.workflow
    job_workflow_ref = f"{GITHUB_REPOSITORY}/.github/workflows/{workflow}@{run.ref}"
    return {"aud": "sts.amazonaws.com", "iss": f"https://{ISSUER}",
            "sub": f"repo:{GITHUB_REPOSITORY}:{context}:job_workflow_ref:{job_workflow_ref}"}


# ---------------------------------------------------------------------------- IAM's side
def _matches(operator: str, wanted: list[str], actual: str | None) -> bool:
    if actual is None:
        return False
    if operator == "StringEquals":
        return actual in wanted
    if operator == "StringLike":  # * and ? wildcards, case-sensitive
        return any(fnmatch.fnmatchcase(actual, w) for w in wanted)
    raise AssertionError(f"trust policy uses {operator}, which this test does not evaluate; add it")


def can_assume(trust: dict, provider_arn: str, claims: dict[str, str] | None) -> bool:
    """AssumeRoleWithWebIdentity: some Allow statement matches (principal, action, every condition)
    and no Deny statement does."""
    if claims is None:
        return False

    def applies(st: dict) -> bool:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        federated = st.get("Principal", {}).get("Federated")
        federated = federated if isinstance(federated, list) else [federated]
        if "sts:AssumeRoleWithWebIdentity" not in actions or provider_arn not in federated:
            return False
        for operator, conditions in (st.get("Condition") or {}).items():
            for key, wanted in conditions.items():
                issuer, _, claim = key.partition(":")
                assert issuer == ISSUER, f"condition on {key}"
                if not _matches(operator, wanted if isinstance(wanted, list) else [wanted], claims.get(claim)):
                    return False
        return True

    statements = trust["Statement"] if isinstance(trust["Statement"], list) else [trust["Statement"]]
    return (any(applies(s) for s in statements if s["Effect"] == "Allow")
            and not any(applies(s) for s in statements if s["Effect"] == "Deny"))


# ---------------------------------------------------------------------------- the plans
@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Roles (name -> trust policy), the OIDC provider ARN and the secret -> role name map, from the
    plan JSON of both roots."""
    rh = Rehearsal(tmp_path_factory.mktemp("oidc"))
    rh.copy_repository()
    rh.start_emulator()
    try:
        # The account's provider, as terraform/bootstrap leaves it (production looks it up).
        provider = rh.aws("iam").create_open_id_connect_provider(
            Url=f"https://{ISSUER}", ClientIDList=["sts.amazonaws.com"])["OpenIDConnectProviderArn"]
        # ... and the permissions boundary, which production also looks up by name.
        rh.aws("iam").create_policy(PolicyName="llm-gateway-boundary", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}))
        roles: dict[str, dict] = {}
        secrets: dict[str, str] = {}
        for root in ("terraform/bootstrap", "terraform/environments/production"):
            # A plan needs no remote state: the standard override file gives this copy a local backend.
            (rh.repo / root / "zz_local_backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
            rh.run(["terraform", f"-chdir={root}", "init", "-input=false", "-no-color"])
            rh.run(["terraform", f"-chdir={root}", "plan", "-input=false", "-no-color", "-out=oidc.tfplan"],
                   env={"TF_VAR_certificate_arn": "arn:aws:acm:ap-south-1:123456789012:certificate/"
                                                  "0f0e0d0c-0b0a-0908-0706-050403020100",
                        "TF_VAR_github_connection_arn": "arn:aws:codeconnections:ap-south-1:123456789012:connection/"
                                                        "0f0e0d0c-0b0a-0908-0706-050403020100",
                        **IDENTITY_CENTER_TF_VARS})
            plan = json.loads(rh.run(["terraform", f"-chdir={root}", "show", "-json", "oidc.tfplan"]).stdout)
            for rc in plan["resource_changes"]:
                if rc["type"] == "aws_iam_role":
                    after = rc["change"]["after"]
                    assert after.get("assume_role_policy"), f"{rc['address']}: trust policy unknown at plan time"
                    roles[after["name"]] = json.loads(after["assume_role_policy"])
            # output_changes keeps the known part of an output whose other parts are known only after apply
            for name, arn in plan["output_changes"]["github_actions_secrets"]["after"].items():
                if name.endswith("_ROLE_ARN"):
                    secrets[name] = arn.rsplit("/", 1)[-1]
        return {"roles": roles, "secrets": secrets, "provider": provider}
    finally:
        rh.close()


# With Identity Center set, the production root also makes the directory role (drift.yml's directory job).
IDENTITY_CENTER_TF_VARS = {
    "TF_VAR_identity_center_instance_arn": "arn:aws:sso:::instance/ssoins-1111111111111111",
    "TF_VAR_identity_store_id": "d-1234567890",
    "TF_VAR_identity_center_group_id": "9a67a2c4-5081-70a4-0c5e-6f1c2b3a4d5e",
}


def role_of(planned: dict, job: Job) -> dict:
    assert job.role_secret in planned["secrets"], (
        f"{job.workflow}:{job.job} assumes secrets.{job.role_secret}, which no github_actions_secrets output sets")
    return planned["roles"][planned["secrets"][job.role_secret]]


JOBS = assuming_jobs()
# How each workflow is meant to run (its `on:` triggers, on main or from a pull request).
INTENDED = {
    "deploy.yml": [Run("push", "refs/heads/main"), Run("workflow_dispatch", "refs/heads/main")],
    "drift.yml": [Run("schedule", "refs/heads/main"), Run("workflow_dispatch", "refs/heads/main")],
    "pr.yml": [Run("pull_request", "refs/pull/42/merge")],
    "rotate.yml": [Run("schedule", "refs/heads/main"), Run("workflow_dispatch", "refs/heads/main")],
    "chargeback.yml": [Run("schedule", "refs/heads/main"), Run("workflow_dispatch", "refs/heads/main")],
}
WRITE_SECRETS = {"AWS_TERRAFORM_ROLE_ARN", "AWS_RECONCILER_ROLE_ARN"}


def test_every_assuming_workflow_is_covered():
    assert {j.workflow for j in JOBS} <= set(INTENDED), "add the new workflow's runs to INTENDED"
    assert {j.role_secret for j in JOBS} >= WRITE_SECRETS | {"AWS_PLAN_ROLE_ARN", "AWS_TERRAFORM_PLAN_ROLE_ARN"}


@pytest.mark.parametrize("job", JOBS, ids=lambda j: f"{j.workflow}:{j.job}")
def test_each_job_can_assume_the_role_it_names(planned, job):
    for run in INTENDED[job.workflow]:
        assert can_assume(role_of(planned, job), planned["provider"], token_claims(job, run)), (
            f"{job.workflow}:{job.job} on {run} cannot assume {planned['secrets'][job.role_secret]}: "
            f"{token_claims(job, run)['sub']}")


def test_a_pull_request_cannot_assume_a_role_that_writes(planned):
    pr_jobs = [j for j in JOBS if j.workflow == "pr.yml"]
    assert pr_jobs
    for job in pr_jobs:
        claims = token_claims(job, Run("pull_request", "refs/pull/42/merge"))
        for secret in WRITE_SECRETS:
            assert not can_assume(planned["roles"][planned["secrets"][secret]], planned["provider"], claims), \
                f"{job.workflow}:{job.job} ({claims['sub']}) could assume {secret}"


@pytest.mark.parametrize("run, why", [
    (Run("workflow_dispatch", "refs/heads/feature"), "a run of deploy.yml from another branch"),
    (Run("push", "refs/heads/main", workflow="evil.yml"), "another workflow file on main, same environment"),
    (Run("push", "refs/heads/feature", workflow="deploy.yml"), "a push to another branch"),
])
def test_write_roles_trust_only_deploy_yml_on_main(planned, run, why):
    for job in [j for j in JOBS if j.role_secret in WRITE_SECRETS]:
        assert not can_assume(role_of(planned, job), planned["provider"], token_claims(job, run)), \
            f"{why} could assume {job.role_secret}: {token_claims(job, run)['sub']}"


def test_a_fork_pull_request_gets_no_role(planned):
    for job in [j for j in JOBS if j.workflow == "pr.yml"]:
        assert token_claims(job, Run("pull_request", "refs/pull/42/merge", fork=True)) is None
        for name in planned["roles"]:
            assert not can_assume(planned["roles"][name], planned["provider"],
                                  token_claims(job, Run("pull_request", "refs/pull/42/merge", fork=True)))
    # ...and the jobs also skip themselves for forks.
    doc = yaml.safe_load((WORKFLOWS / "pr.yml").read_text())
    for job in [j for j in JOBS if j.workflow == "pr.yml"]:
        assert "head.repo.full_name == github.repository" in doc["jobs"][job.job]["if"]


def test_the_evaluator_catches_a_wide_trust(planned):
    """The checks above would pass vacuously if can_assume never said yes to the wrong job: a trust
    policy on the repository alone (the usual mistake) lets every job in."""
    wide = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                           "Principal": {"Federated": planned["provider"]},
                           "Condition": {"StringLike": {f"{ISSUER}:sub": f"repo:{GITHUB_REPOSITORY}:*"}}}]}
    pr_job = next(j for j in JOBS if j.workflow == "pr.yml")
    claims = token_claims(pr_job, Run("pull_request", "refs/pull/1/merge"))
    assert can_assume(wide, planned["provider"], claims)
    assert not can_assume(wide, planned["provider"] + "x", claims)  # another provider's tokens


# ---------------------------------------------------------------------------- a pull request edits pr.yml
# A same-repository pull request runs its own pr.yml: whatever that file says about environments and
# roles is the pull request's choice. What it cannot choose is the token subject GitHub computes, and
# whether a reviewer approves a job in a reviewed environment.
PR_RUN = Run("pull_request", "refs/pull/42/merge")


def test_plan_roles_trust_only_the_reviewed_pr_plan_environment(planned):
    pr_jobs = [j for j in JOBS if j.workflow == "pr.yml"]
    assert {j.environment for j in pr_jobs} == {"pr-plan"}, "both PR jobs that assume a role run in pr-plan"
    for job in pr_jobs:
        assert not can_assume(role_of(planned, job), planned["provider"], token_claims(job, Run(
            "pull_request", "refs/pull/42/merge", approved=False))), f"{job.job} got a role before approval"
    runbook = (REPO / "docs" / "runbook.md").read_text()
    assert "`pr-plan`" in runbook and "required reviewers" in runbook


@pytest.mark.parametrize("edited_environment, approved, why", [
    (None, True, "the edit drops `environment:`: a bare pull_request token"),
    ("pr-plan", False, "the edit keeps pr-plan and adds its own steps: it waits for a reviewer"),
    ("drift", True, "the edit borrows drift's environment, which has no reviewers"),
    ("production", True, "the edit borrows production's environment (and its reviewer approved)"),
    ("pr-plan-2", True, "the edit names an environment of its own"),
])
def test_a_pull_request_that_edits_pr_yml_gets_no_role_without_approval(planned, edited_environment, approved, why):
    """Every role of both roots, against every job the edited pr.yml could declare with each role secret."""
    for secret in sorted(planned["secrets"]):
        edited = Job("pr.yml", "anything", secret, edited_environment)
        claims = token_claims(edited, Run("pull_request", "refs/pull/42/merge", approved=approved))
        for name, trust in planned["roles"].items():
            assert not can_assume(trust, planned["provider"], claims), f"{why}: {name} trusts {claims}"


def test_an_approved_pr_plan_is_the_only_way_in(planned):
    """The positive control of the test above: the same edited file, approved in pr-plan, gets the
    read-only plan roles (the reviewer saw the edit), and never a role that writes."""
    for secret in ("AWS_PLAN_ROLE_ARN", "AWS_TERRAFORM_PLAN_ROLE_ARN"):
        claims = token_claims(Job("pr.yml", "anything", secret, "pr-plan"), PR_RUN)
        assert can_assume(planned["roles"][planned["secrets"][secret]], planned["provider"], claims)
        for write in WRITE_SECRETS:
            assert not can_assume(planned["roles"][planned["secrets"][write]], planned["provider"], claims)


def test_only_the_directory_job_reads_the_directory(planned):
    """The directory role trusts drift.yml's directory job alone: the drift job beside it (its own
    environment) cannot assume it, and the directory job gets no other role (issue #21)."""
    directory = next(j for j in JOBS if j.role_secret == "AWS_DIRECTORY_ROLE_ARN")
    assert (directory.workflow, directory.environment) == ("drift.yml", "directory")
    drift = next(j for j in JOBS if j.workflow == "drift.yml" and j.job == "drift")
    nightly = Run("schedule", "refs/heads/main")
    role = planned["roles"][planned["secrets"]["AWS_DIRECTORY_ROLE_ARN"]]
    assert can_assume(role, planned["provider"], token_claims(directory, nightly))
    assert not can_assume(role, planned["provider"], token_claims(drift, nightly))
    for name, trust in planned["roles"].items():
        if name != planned["secrets"]["AWS_DIRECTORY_ROLE_ARN"]:
            assert not can_assume(trust, planned["provider"], token_claims(directory, nightly)), name
