"""The account's IAM as deployed, judged by cloudsplaining (Salesforce's IAM assessment tool, not ours).

`dump` is `aws iam get-account-authorization-details` through boto3, as `cloudsplaining download` takes it;
`scan` runs the `cloudsplaining scan` command over that file and `risks` reads its results per role.

cloudsplaining judges each policy on the statements it cannot see bounded: an Allow on Resource "*" without a
condition. It does not read permissions boundaries, so `boundary_gaps` checks the other half of the design
on the same dump: every role the stack creates carries the project's boundary, and every grant of IAM
permissions the apply role has requires it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

# The findings cloudsplaining rates high (PrivilegeEscalation, ResourceExposure, CredentialsExposure) and
# the one that reads data (DataExfiltration: s3:GetObject, secretsmanager:GetSecretValue ... on "*").
RISKS = ("PrivilegeEscalation", "ResourceExposure", "CredentialsExposure", "DataExfiltration")


def dump(iam: Any) -> dict[str, Any]:
    """The account authorization details: every user, group and role with its inline and attached policies,
    the customer-managed policies, and the AWS-managed policies that are attached (what AWS returns; moto
    returns its copy of all of them, with their documents)."""
    details: dict[str, list] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    for page in iam.get_paginator("get_account_authorization_details").paginate():
        for key, items in details.items():
            items.extend(page.get(key, []))
    attached = {a["PolicyArn"] for kind in ("UserDetailList", "GroupDetailList", "RoleDetailList")
                for principal in details[kind] for a in principal.get("AttachedManagedPolicies", [])}
    policies = []
    for policy in details["Policies"]:
        if ":iam::aws:policy/" in policy["Arn"] and policy["Arn"] not in attached:
            continue
        # moto 5.2.5 leaves PolicyName and PolicyId out of this call's policies; AWS sends both.
        if "PolicyName" not in policy or "PolicyId" not in policy:
            got = iam.get_policy(PolicyArn=policy["Arn"])["Policy"]
            policy = {**policy, "PolicyName": got["PolicyName"], "PolicyId": got["PolicyId"]}
        policies.append(policy)
    details["Policies"] = policies
    missing = attached - {p["Arn"] for p in policies}
    if missing:
        raise AssertionError(f"attached policies without a document in the dump: {sorted(missing)}")
    return details


def scan(details: dict[str, Any], workdir: Path, flag_all_risky_actions: bool = False) -> dict[str, Any]:
    """`cloudsplaining scan` over the dump, with its default exclusions; its results data file, parsed.
    flag_all_risky_actions (`-aR`): judge every statement, whatever its resources and conditions."""
    workdir.mkdir(parents=True, exist_ok=True)
    name = "account"
    dump_file = workdir / f"{name}.json"
    dump_file.write_text(json.dumps(details, default=str, indent=1))
    cli = Path(sys.executable).with_name("cloudsplaining")
    proc = subprocess.run([str(cli), "scan", "--input-file", str(dump_file), "--output", str(workdir),
                           "--skip-open-report", *(["--flag-all-risky-actions"] if flag_all_risky_actions else [])],
                          capture_output=True, text=True, timeout=600, check=False)
    results_file = workdir / f"iam-results-{name}.json"
    if proc.returncode != 0 or not results_file.exists():
        raise AssertionError(f"cloudsplaining scan failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(results_file.read_text())


def risks(results: dict[str, Any], role_name: str) -> dict[str, list[str]]:
    """cloudsplaining's findings of each kind in RISKS over the role's policies (inline, customer- and
    AWS-managed), as "<policy>: <finding>"."""
    roles = [r for r in results["roles"].values() if r["name"] == role_name]
    if len(roles) != 1:
        raise AssertionError(f"role {role_name} is not in cloudsplaining's results (found {len(roles)})")
    role = roles[0]
    found: dict[str, list[str]] = {}
    for kind in ("inline_policies", "customer_managed_policies", "aws_managed_policies"):
        for policy_id in role.get(kind) or {}:
            policy = results[kind][policy_id]
            for risk in RISKS:
                # PrivilegeEscalation findings are {"type": method, "actions": [...]}, the others actions.
                for finding in (policy.get(risk) or {}).get("findings") or []:
                    label = finding["type"] if isinstance(finding, dict) else finding
                    found.setdefault(risk, []).append(f"{policy['PolicyName']}: {label}")
    return found


def boundary_gaps(details: dict[str, Any], boundary_arn: str, stack_roles: list[str], apply_role: str) -> list[str]:
    """What would let a role the apply role makes exceed the boundary: a stack role without it, or an
    apply-role Allow of a granting IAM action that does not require it."""
    boundaries = {r["RoleName"]: r.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
                  for r in details["RoleDetailList"]}
    gaps = [f"{name}: no role of that name" for name in stack_roles if name not in boundaries]
    gaps += [f"{name}: permissions boundary {boundaries[name]}" for name in stack_roles
             if name in boundaries and boundaries[name] != boundary_arn]
    granting = {"iam:*", "iam:createrole", "iam:putrolepolicy", "iam:attachrolepolicy",
                "iam:putrolepermissionsboundary"}
    for policy_name, document in policies_of(details, apply_role):
        for st in as_list(document["Statement"]):
            actions = {a.lower() for a in as_list(st.get("Action", []))}
            if st["Effect"] != "Allow" or not (actions & granting or "NotAction" in st):
                continue
            required = st.get("Condition", {}).get("StringEquals", {}).get("iam:PermissionsBoundary")
            if required != boundary_arn:
                gaps.append(f"{apply_role} {policy_name} {st.get('Sid', '')}: grants {sorted(actions) or 'NotAction'} "
                            f"without requiring the boundary")
    return gaps


def policies_of(details: dict[str, Any], role_name: str) -> list[tuple[str, dict[str, Any]]]:
    """The role's policy documents, inline and attached, as (name, document)."""
    role = next(r for r in details["RoleDetailList"] if r["RoleName"] == role_name)
    managed = {p["Arn"]: p for p in details["Policies"]}
    out = [(p["PolicyName"], p["PolicyDocument"]) for p in role["RolePolicyList"]]
    for attached in role["AttachedManagedPolicies"]:
        policy = managed[attached["PolicyArn"]]
        version = next(v for v in policy["PolicyVersionList"] if v["IsDefaultVersion"])
        document = version["Document"]
        out.append((policy["PolicyName"], json.loads(document) if isinstance(document, str) else document))
    return out


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]
