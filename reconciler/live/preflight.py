"""`gatewayctl preflight`: can this AWS account call each model in policies/models.yaml, before the
gateway's first call finds out with an AccessDeniedException?

Per model it asks Bedrock's control plane, in the Region policies/models.yaml names:
- region: the Region the credentials are for is that Region, and (for an inference-profile ID) the
  profile exists there and is ACTIVE (GetInferenceProfile);
- authorisation: GetFoundationModelAvailability's authorizationStatus. Anthropic answers
  NOT_AUTHORIZED until the account (or its organization's management account) has submitted the
  one-time first-use form (use case details);
- entitlement and the Region's offer: entitlementAvailability and regionAvailability;
- agreement: the AWS Marketplace subscription. NOT_AVAILABLE is not a blocker: the first call
  subscribes the account, as the caller, which the gateway's task role may do
  (terraform/modules/gateway-tasks/roles.tf, aws-marketplace:Subscribe); ERROR is (say, no valid
  payment method), and PENDING means a subscription is on its way.

Nothing here calls a model, so nothing costs anything. Exit 0 when every model can be called, 1 when
any cannot (each line says what to do) or the control plane cannot be asked. The role needs
bedrock:GetFoundationModelAvailability and bedrock:GetInferenceProfile (the deploy's Terraform role has them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field

import yaml

from reconciler.desired.bedrock import split_profile
from reconciler.desired.residency import fallback_model_id
from reconciler.errors import EXIT_ERROR, EXIT_OK, GatewayctlError

MODELS_FILE = "policies/models.yaml"
RUNBOOK = "docs/runbook.md, \"Bedrock access\""


@dataclass
class Verdict:
    alias: str
    model_id: str
    callable: bool = True
    notes: list[str] = field(default_factory=list)  # what holds, e.g. "the first call subscribes"
    problems: list[str] = field(default_factory=list)  # each says what is wrong and what to do

    def block(self, problem: str) -> None:
        self.callable = False
        self.problems.append(problem)

    def to_json(self) -> dict:
        return {"alias": self.alias, "model_id": self.model_id, "callable": self.callable,
                "notes": self.notes, "problems": self.problems}


def _code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)


def check_model(bedrock, alias: str, model_id: str, region: str) -> Verdict:
    from botocore.exceptions import ClientError

    v = Verdict(alias, model_id)
    prefix, fm_id = split_profile(model_id)
    if prefix is not None:
        try:
            profile = bedrock.get_inference_profile(inferenceProfileIdentifier=model_id)
        except ClientError as exc:
            if _code(exc) in ("ResourceNotFoundException", "ValidationException"):
                v.block(f"region: inference profile {model_id} does not exist in {region}; choose one that does "
                        f"(`aws bedrock list-inference-profiles --region {region}`, "
                        "docs/adr/0001-bedrock-model-ids.md)")
                return v
            raise
        if profile.get("status") != "ACTIVE":
            v.block(f"region: inference profile {model_id} is {profile.get('status')} in {region}, not ACTIVE")
    availability = bedrock.get_foundation_model_availability(modelId=fm_id)
    if availability.get("regionAvailability") != "AVAILABLE":
        v.block(f"region: {fm_id} is not offered to {region}; use an inference profile that serves it there")
    if availability.get("entitlementAvailability") != "AVAILABLE":
        v.block(f"entitlement: this account is not entitled to {fm_id}; ask AWS Support, or choose another model")
    if availability.get("authorizationStatus") != "AUTHORIZED":
        if fm_id.startswith("anthropic."):
            v.block(f"authorisation: this account has not submitted Anthropic's first-use form for {fm_id}; "
                    "submit the use case details once per account (Bedrock console, Model catalog, the model, "
                    "or `aws bedrock put-use-case-for-model-access`), then run preflight again; " + RUNBOOK)
        else:
            v.block(f"authorisation: this account is not authorised to call {fm_id}; " + RUNBOOK)
    agreement = availability.get("agreementAvailability") or {}
    status = agreement.get("status")
    if status == "AVAILABLE":
        v.notes.append("Marketplace agreement in place")
    elif status == "NOT_AVAILABLE":
        v.notes.append("no Marketplace agreement yet: the gateway's first call subscribes the account "
                       "(the task role holds aws-marketplace:Subscribe)")
    elif status == "PENDING":
        v.notes.append("Marketplace agreement pending: calls may fail for a few minutes until it completes")
    else:
        why = agreement.get("errorMessage") or status or "no agreement status"
        v.block(f"agreement: the Marketplace subscription to {fm_id} failed ({why}); fix it (for example the "
                "account's payment method), then run preflight again; " + RUNBOOK)
    return v


def run(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    path = args.root / MODELS_FILE
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        region, models = doc["region"], {a: m["bedrock_model_id"] for a, m in doc["models"].items()}
        # A fallback profile is called as well, when Bedrock throttles the first (models.yaml `fallback:`).
        models.update({f"{a} fallback": fallback_model_id(m) for a, m in doc["models"].items() if fallback_model_id(m)})
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise GatewayctlError(f"cannot read {MODELS_FILE}: {exc}") from None
    session = boto3.session.Session()
    verdicts: list[Verdict] = []
    if session.region_name and session.region_name != region:
        for alias, model_id in sorted(models.items()):
            v = Verdict(alias, model_id)
            v.block(f"region: the credentials are for {session.region_name}, {MODELS_FILE} says {region}; "
                    f"run with AWS_REGION and AWS_DEFAULT_REGION={region}")
            verdicts.append(v)
    else:
        bedrock = session.client("bedrock", region_name=region)
        for alias, model_id in sorted(models.items()):
            try:
                verdicts.append(check_model(bedrock, alias, model_id, region))
            except (ClientError, BotoCoreError) as exc:
                v = Verdict(alias, model_id)
                hint = (" (the role needs bedrock:GetFoundationModelAvailability and bedrock:GetInferenceProfile)"
                        if _code(exc) == "AccessDeniedException" else "")
                v.block(f"cannot ask Bedrock in {region}: {exc}{hint}")
                verdicts.append(v)
    blocked = [v for v in verdicts if not v.callable]
    if args.format == "json":
        print(json.dumps({"region": region, "callable": not blocked, "models": [v.to_json() for v in verdicts]},
                         indent=2))
    else:
        github = args.format == "github"
        for v in verdicts:
            head = f"{v.alias} ({v.model_id}): {'can be called' if v.callable else 'CANNOT be called'}"
            print(head + "".join(f"\n  - {n}" for n in v.problems + v.notes))
            for problem in v.problems if github else ():
                print(f"::error title=Bedrock preflight: {v.alias}::{v.alias} ({v.model_id}): {problem}")
        print(f"{len(verdicts) - len(blocked)} of {len(verdicts)} model(s) can be called from this account in "
              f"{region}", file=sys.stderr)
    return EXIT_ERROR if blocked else EXIT_OK


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "json", "github"),
                   default="github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text",
                   help="text (default), json, or text with GitHub error annotations (default on GitHub)")


DESCRIPTION = ("For each model in policies/models.yaml, ask Bedrock's control plane in that file's Region whether "
               "this account can call it: the inference profile exists there (GetInferenceProfile), the account is "
               "authorised (Anthropic: the one-time first-use form), entitled and offered the model, and its AWS "
               "Marketplace agreement is in place or will be made by the first call "
               "(GetFoundationModelAvailability). Calls no model, costs nothing. Exit 0 when every model can be "
               "called, 1 when any cannot; each problem says what to do.")
