"""`gatewayctl check-approvals`: a grant change needs the approval the policy requires.

A pull request that adds users/<id>.yaml, or changes its tier, budget_exception, expires or owner, needs an
approval, on its latest push, from the user's `owner` (and, when the owner changes, from the previous owner
too). An owner is an email; policies/approvers.yaml maps it to GitHub logins. A change to
policies/tiers.yaml or policies/approvers.yaml needs an approval from a code owner of that file
(.github/CODEOWNERS, last matching line; a team is resolved through approvers.yaml `teams`, because the
workflow's token cannot read team membership). The author's own approval never counts, and a reviewer
counts only with their latest decision. Removing a user needs no owner's approval (it only takes access
away); CODEOWNERS and branch protection still apply to every change.

The rules are read from the base branch (the checkout this runs in): a pull request cannot name its own
approvers. Its users/ and policies/ are read only as data (--proposed DIR, regular files only).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.desired import yamlfile
from reconciler.desired.validate import APPROVERS_FILE
from reconciler.errors import EXIT_ERROR, EXIT_OK, GatewayctlError, expected_io
from reconciler.history.evidence import effective_approvals

CODEOWNERS_FILE = ".github/CODEOWNERS"
GRANT_FIELDS = ("tier", "budget_exception", "expires", "owner")
OWNED_POLICIES = ("policies/tiers.yaml", APPROVERS_FILE)


@dataclass
class Requirement:
    path: str
    change: str
    who: str  # whose approval, in words
    logins: frozenset[str]  # any one of them satisfies it (lowercase)
    problem: str | None = None  # set when the requirement cannot be met as configured

    def met_by(self, approvers: set[str]) -> bool:
        return self.problem is None and bool(self.logins & approvers)


@dataclass
class Approvers:
    owners: dict[str, list[str]] = field(default_factory=dict)
    teams: dict[str, list[str]] = field(default_factory=dict)

    def of_owner(self, email: str) -> frozenset[str]:
        for key, logins in self.owners.items():
            if key.lower() == str(email).lower():
                return frozenset(login.lower() for login in logins)
        return frozenset()


def _read_yaml(path: Path, rel: str) -> object:
    """A regular file's YAML (None when absent); a link or a YAML error is an InputError naming file:line."""
    if not path.exists() and not path.is_symlink():
        return None
    return yamlfile.load(path, rel).data


def load_approvers(root: Path) -> Approvers | None:
    doc = _read_yaml(root / APPROVERS_FILE, APPROVERS_FILE)
    if doc is None:
        return None
    doc = doc if isinstance(doc, dict) else {}
    return Approvers(dict(doc.get("owners") or {}), dict(doc.get("teams") or {}))


def codeowners_of(root: Path, rel: str) -> list[str]:
    """The owners of `rel` in the base branch's .github/CODEOWNERS (the last matching line decides)."""
    path = root / CODEOWNERS_FILE
    if not path.is_file():
        return []
    owners: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("#", 1)[0].split()
        if parts and _codeowners_match(parts[0], rel):
            owners = parts[1:]
    return owners


def _codeowners_match(pattern: str, rel: str) -> bool:
    anchored = pattern.startswith("/")
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        return rel.startswith(pattern) if anchored else f"/{pattern}" in f"/{rel}"
    if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(rel, pattern + "/*"):
        return True
    return not anchored and "/" not in pattern and fnmatch.fnmatch(rel.rsplit("/", 1)[-1], pattern)


def _code_owner_requirement(root: Path, rel: str, approvers: Approvers) -> Requirement:
    owners = codeowners_of(root, rel)
    logins: set[str] = set()
    unknown = []
    for owner in owners:
        name = owner.lstrip("@")
        if "/" in name:  # a team: its members as listed in approvers.yaml
            members = next((v for k, v in approvers.teams.items() if k.lower().lstrip("@") == name.lower()), None)
            if members is None:
                unknown.append(owner)
            logins.update(m.lower() for m in members or [])
        else:
            logins.add(name.lower())
    who = f"a code owner of {rel} ({' '.join(owners) or 'none in ' + CODEOWNERS_FILE})"
    problem = None
    if not logins:
        problem = (f"no code owner login known: list the team(s) {' '.join(unknown) or '(none)'} under `teams` in "
                   f"{APPROVERS_FILE}" if unknown else f"{CODEOWNERS_FILE} names no owner for {rel}")
    return Requirement(rel, "changed", who, frozenset(logins), problem)


def _grant_change(before: dict | None, after: dict) -> str | None:
    if before is None:
        return "added"
    changed = [f for f in GRANT_FIELDS if before.get(f) != after.get(f)]
    return (", ".join(f"{f} {before.get(f)!s} -> {after.get(f)!s}" for f in changed) + " changed") if changed else None


def _owner_requirement(rel: str, change: str, owner: object, approvers: Approvers) -> Requirement:
    logins = approvers.of_owner(str(owner))
    problem = None if logins else (f"the owner {owner} has no GitHub login in {APPROVERS_FILE} (base branch); map "
                                   "it there first, in its own reviewed pull request")
    return Requirement(rel, change, f"the owner {owner} ({', '.join(sorted(logins)) or 'unmapped'})", logins, problem)


def _user_docs(root: Path) -> dict[str, dict]:
    out = {}
    folder = root / "users"
    for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
        rel = f"users/{path.name}"
        doc = _read_yaml(path, rel)
        out[rel] = doc if isinstance(doc, dict) else {}
    return out


def requirements(base: Path, proposed: Path, approvers: Approvers) -> list[Requirement]:
    """What the change from `base` (users/, policies/) to `proposed` needs, file by file."""
    reqs: list[Requirement] = []
    before, after = _user_docs(base), _user_docs(proposed)
    for rel, doc in sorted(after.items()):
        old = before.get(rel)
        change = _grant_change(old, doc)
        if change is None:
            continue
        reqs.append(_owner_requirement(rel, change, doc.get("owner"), approvers))
        if old is not None and old.get("owner") != doc.get("owner"):
            reqs.append(_owner_requirement(rel, "owner changed (the previous owner too)", old.get("owner"), approvers))
    for rel in OWNED_POLICIES:
        old_bytes = (base / rel).read_bytes() if (base / rel).is_file() else None
        new_bytes = yamlfile.read_regular(proposed / rel, rel) if (proposed / rel).exists() else None
        if old_bytes != new_bytes:
            reqs.append(_code_owner_requirement(base, rel, approvers))
    return reqs


def check(base: Path, proposed: Path, pull: dict) -> tuple[list[str], list[str]]:
    """(lines that pass, lines that fail) for the pull request `pull` (scripts/ci/pr-reviews' JSON)."""
    approvers = load_approvers(base)
    if approvers is None:
        approvers = Approvers()
    valid = {a["login"].lower() for a in effective_approvals(pull) if a["on_head"]}
    stale = sorted(a["login"] for a in effective_approvals(pull) if not a["on_head"])
    ok, failed = [], []
    for req in requirements(base, proposed, approvers):
        if req.met_by(valid):
            who = ", ".join(sorted(req.logins & valid))
            ok.append(f"{req.path}: {req.change}: approved by {who} ({req.who})")
            continue
        why = req.problem or (f"no approval by {req.who} on the latest push; approvals that count: "
                              f"{', '.join(sorted(valid)) or 'none'}")
        if stale:
            why += f"; approvals of an earlier push do not count: {', '.join(stale)}"
        if any(r.get("login", "").lower() == str(pull.get("author")).lower() for r in pull.get("reviews") or []):
            why += f"; the author {pull.get('author')} cannot approve their own change"
        failed.append(f"{req.path}: {req.change}: needs an approval from {req.who}: {why}")
    return ok, failed


def cmd_check_approvals(args: argparse.Namespace) -> int:
    with expected_io(f"cannot read {args.pull_request}"):
        try:
            pull = json.loads(args.pull_request.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise GatewayctlError(f"{args.pull_request}:{getattr(exc, 'lineno', 1)}: not JSON: {exc}") from None
    if not (args.proposed / "users").is_dir() or (args.proposed / "users").is_symlink():
        raise GatewayctlError(f"{args.proposed} holds no users/ directory (a checkout of the pull request)")
    ok, failed = check(args.root, args.proposed, pull)
    for line in ok:
        print(f"ok: {line}")
    for line in failed:
        print(f"::error::{line}" if args.format == "github" else f"FAIL: {line}")
    print(f"pull request #{pull.get('number')} by {pull.get('author')}: {len(ok)} grant change(s) approved, "
          f"{len(failed)} without the approval they need", file=sys.stderr)
    return EXIT_ERROR if failed else EXIT_OK


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pull-request", type=Path, required=True, metavar="FILE",
                   help="the pull request's author, head and reviews as JSON (scripts/ci/pr-reviews writes it)")
    p.add_argument("--proposed", type=Path, required=True, metavar="DIR",
                   help="a checkout of the pull request; only its users/ and policies/ are read, as data")
    p.add_argument("--format", choices=("text", "github"), default="text",
                   help="text (default) or github (failures as workflow error annotations)")
