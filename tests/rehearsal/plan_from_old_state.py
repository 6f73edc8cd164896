"""Does a Terraform refactoring move state, or does it destroy and re-create? Apply the roots as they
are at an older revision against the AWS emulator, then plan the working tree against that state.

    .venv/bin/python tests/rehearsal/plan_from_old_state.py main
    .venv/bin/python tests/rehearsal/plan_from_old_state.py c0f5672 --root terraform/environments/production

For each root (terraform/bootstrap, then terraform/environments/production, which looks up the OIDC
provider bootstrap made), it prints what the plan would do: how many resources move (`moved {}`
blocks), are created, updated, replaced or destroyed. Exit 0 only when the plan moves state and
changes nothing: "Plan: 0 to add, 0 to change, 0 to destroy". Use it before merging a change that
renames resources or moves them between modules; the new plan runs with the same inputs as the old
apply (the rehearsal's: no cache, a certificate from the emulator's ACM).

Both roots keep their state in a local file here (an override file swaps the S3 backend for a local
one), in a temporary directory that is removed afterwards unless --keep is given.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from stack import EMULATOR_TF_VARS, GITHUB_REPOSITORY, REPO, Rehearsal

ROOTS = ("terraform/bootstrap", "terraform/environments/production")
LOCAL_BACKEND = 'terraform {\n  backend "local" {}\n}\n'


def export_revision(rev: str, dest: Path) -> None:
    archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=REPO, check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")


def export_working_tree(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).write_bytes(src.read_bytes())


def summarise(plan: dict) -> dict[str, int]:
    """Counts of what a `terraform show -json` plan does to managed resources."""
    counts: collections.Counter[str] = collections.Counter()
    for rc in plan.get("resource_changes", []):
        if rc.get("mode") != "managed":
            continue
        actions = rc["change"]["actions"]
        if rc.get("previous_address") and rc["previous_address"] != rc["address"]:
            counts["moved"] += 1
        if actions == ["no-op"]:
            counts["unchanged"] += 1
        elif actions == ["create"]:
            counts["add"] += 1
        elif actions == ["update"]:
            counts["change"] += 1
        elif actions == ["delete"]:
            counts["destroy"] += 1
        elif set(actions) == {"create", "delete"}:
            counts["replace"] += 1
        else:
            counts["+".join(actions)] += 1
    return dict(counts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("rev", help="the revision whose roots are applied first (e.g. main)")
    ap.add_argument("--root", action="append", choices=ROOTS,
                    help="only these roots (bootstrap is always applied: production needs its OIDC provider)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (states, logs)")
    args = ap.parse_args(argv)
    planned = args.root or list(ROOTS)

    work = Path(tempfile.mkdtemp(prefix="plan-from-old-state-"))
    rh = Rehearsal(work)
    old, new = work / "old", work / "new"
    old.mkdir()
    new.mkdir()
    export_revision(args.rev, old)
    export_working_tree(new)
    failed = False
    try:
        rh.start_emulator()
        certificate = rh.aws("acm").request_certificate(DomainName="llm.example.com")["CertificateArn"]
        env = rh.env({"TF_VAR_certificate_arn": certificate, "TF_VAR_github_repository": GITHUB_REPOSITORY,
                      # the VPC runner's GitHub connection (docs/runbook.md, "First deploy"); ignored by older trees
                      "TF_VAR_github_connection_arn": "arn:aws:codeconnections:ap-south-1:123456789012:connection/"
                                                      "0f0e0d0c-0b0a-0908-0706-050403020100",
                      **{f"TF_VAR_{k}": v for k, v in EMULATOR_TF_VARS.items()}})

        def tf(tree: Path, root: str, *tf_args: str) -> subprocess.CompletedProcess:
            proc = subprocess.run(["terraform", f"-chdir={tree / root}", *tf_args], env=env, capture_output=True,
                                  text=True, check=False, timeout=1800)
            log = rh.logs / f"{tree.name}-{root.replace('/', '_')}-{tf_args[0]}.log"
            with log.open("a") as fh:
                fh.write(f"$ terraform {' '.join(tf_args)}\n{proc.stdout}\n{proc.stderr}\n")
            if proc.returncode not in (0, 2):
                raise SystemExit(f"terraform {' '.join(tf_args)} failed in {tree.name}/{root} (log: {log}):\n"
                                 + "\n".join(proc.stderr.splitlines()[-30:]))
            return proc

        for root in ROOTS:
            if root not in planned and root != "terraform/bootstrap":
                continue
            for tree in (old, new):
                (tree / root / "zz_local_backend_override.tf").write_text(LOCAL_BACKEND)
                tf(tree, root, "init", "-input=false", "-no-color")
            tf(old, root, "apply", "-input=false", "-no-color", "-auto-approve")
            (new / root / "terraform.tfstate").write_bytes((old / root / "terraform.tfstate").read_bytes())
            if root not in planned:
                continue
            tf(new, root, "plan", "-input=false", "-no-color", "-out=tfplan")
            plan = json.loads(tf(new, root, "show", "-json", "tfplan").stdout)
            counts = summarise(plan)
            text = tf(new, root, "show", "-no-color", "tfplan").stdout
            summary = next((line for line in text.splitlines() if line.startswith(("Plan:", "No changes"))),
                           "(no summary line)")
            print(f"{root}: {summary}")
            print(f"  {', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}")
            changed = {k: v for k, v in counts.items() if k not in ("moved", "unchanged")}
            if changed:
                failed = True
                print(f"  NOT a pure move; the plan is in {new / root / 'tfplan'} (--keep to look at it)")
                changes = [line for line in text.splitlines() if line.lstrip().startswith(("#", "~", "-/+"))]
                print("\n".join("  " + line for line in changes))
    finally:
        rh.close()
        if not args.keep:
            subprocess.run(["rm", "-rf", str(work)], check=False)
        else:
            print(f"kept: {work}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
