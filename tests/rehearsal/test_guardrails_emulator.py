"""modules/bedrock-guardrails against the AWS emulator, with the real provider: what the deploy rehearsal's
`terraform apply` of the production root does for the guarded tiers, in a root of its own (a minute,
not the rehearsal's twenty). Apply creates a guardrail and version 1 per guarded tier of
policies/tiers.yaml, a second plan shows no change, a changed guardrail makes version 2, and destroy
deletes the guardrails (and keeps the versions in the account, skip_destroy)."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from stack import REPO, Rehearsal

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("terraform") is None,
                                                   reason="needs terraform on PATH")]

ROOT = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}

provider "aws" {
  region = "ap-south-1"
}

variable "kms_key_arn" {
  type = string
}

locals {
  tiers = yamldecode(file("${path.module}/tiers.yaml")).tiers
}

module "guardrails" {
  source      = "MODULE"
  name        = "llm-gateway"
  guardrails  = { for tier, t in local.tiers : tier => t.guardrail if try(t.guardrail, null) != null }
  kms_key_arn = var.kms_key_arn
}

output "guardrails" {
  value = module.guardrails.guardrails
}
"""


@pytest.fixture
def rh(tmp_path):
    rh = Rehearsal(tmp_path)
    rh.repo.mkdir()
    rh.start_emulator()
    yield rh
    rh.close()


def test_the_guarded_tiers_guardrails_are_created_versioned_and_deleted(rh: Rehearsal):
    root = rh.repo
    (root / "main.tf").write_text(ROOT.replace("MODULE", str(REPO / "terraform" / "modules" / "bedrock-guardrails")))
    tiers = yaml.safe_load((REPO / "policies" / "tiers.yaml").read_text())
    (root / "tiers.yaml").write_text(yaml.safe_dump(tiers))
    key = rh.aws("kms").create_key(Description="stack key")["KeyMetadata"]["Arn"]
    env = {"TF_VAR_kms_key_arn": key}
    rh.run(["terraform", "init", "-input=false", "-no-color"], env=env)
    rh.run(["terraform", "apply", "-input=false", "-no-color", "-auto-approve"], env=env)

    made = {k: v for k, v in rh.terraform_output(".")["guardrails"].items()}
    guarded = sorted(k for k, t in tiers["tiers"].items() if t.get("guardrail"))
    assert sorted(made) == guarded and all(g["version"] == "1" for g in made.values()), made
    bedrock = rh.aws("bedrock")
    drafting = bedrock.get_guardrail(guardrailIdentifier=made["drafting"]["id"], guardrailVersion="1")
    assert drafting["name"] == "llm-gateway-drafting" and drafting["kmsKeyArn"] == key
    assert {e["type"]: e["action"] for e in drafting["sensitiveInformationPolicy"]["piiEntities"]} == \
        tiers["tiers"]["drafting"]["guardrail"]["pii"]
    assert bedrock.list_tags_for_resource(resourceARN=made["drafting"]["arn"])["tags"] == \
        [{"key": "Tier", "value": "drafting"}]
    rh.run(["terraform", "plan", "-input=false", "-no-color", "-detailed-exitcode"], env=env)  # 0: no change

    tiers["tiers"]["drafting"]["guardrail"]["pii"]["EMAIL"] = "BLOCK"
    (root / "tiers.yaml").write_text(yaml.safe_dump(tiers))
    rh.run(["terraform", "apply", "-input=false", "-no-color", "-auto-approve"], env=env)
    after = rh.terraform_output(".")["guardrails"]
    assert (after["drafting"]["version"], after["coding"]["version"]) == ("2", "1")
    email = bedrock.get_guardrail(guardrailIdentifier=made["drafting"]["id"], guardrailVersion="2")
    assert {"type": "EMAIL", "action": "BLOCK"} in email["sensitiveInformationPolicy"]["piiEntities"]

    rh.run(["terraform", "destroy", "-input=false", "-no-color", "-auto-approve"], env=env)
    assert bedrock.list_guardrails()["guardrails"] == []
    assert json.loads((root / "terraform.tfstate").read_text())["resources"] == []
