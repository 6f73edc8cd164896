"""`gatewayctl directory-check`: the nightly comparison of users/ with the Identity Store, as a command.
Read-only: it changes nothing; scripts/ci/directory-pr proposes the removals as one pull request."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from reconciler.directory import identitystore
from reconciler.directory.compare import FileUser, Report, compare, limit_removals, render_markdown
from reconciler.errors import EXIT_CHANGES, EXIT_OK, EXIT_REFUSED, UsageError, expected_io

DESCRIPTION = (
    "Compare users/ with IAM Identity Center's Identity Store (ListUsers, and ListGroupMemberships of the "
    "employees' group). A user file whose person is not in the directory, or whose directory user is "
    "disabled (UserStatus DISABLED), is drift: the report lists it for removal, and scripts/ci/directory-pr "
    "opens one pull request that removes those files, for review. Reported too: a file whose person is not "
    "in the group, a group member without a file, and a file whose email differs from the directory's primary "
    "email. A file belongs to the directory user whose --user-id-attribute (the attribute Identity Center maps "
    "to the gitops_user_id session tag) equals its id. Changes nothing.")
EPILOG = ("exit codes: 0 users/ matches the directory; 2 differences found (the report lists them); 1 error "
          "(the directory could not be read, invalid users/ or options); 3 refused: more removals than "
          "--max-removals (a wrong store or group?), nothing proposed for removal.")


def arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    env = os.environ.get
    p.add_argument("--identity-store-id", default=env(identitystore.STORE_ENV),
                   help=f"the Identity Store, d-xxxxxxxxxx (default: ${identitystore.STORE_ENV})")
    p.add_argument("--group-id", default=env(identitystore.GROUP_ENV),
                   help=f"the employees' group's id in the store (default: ${identitystore.GROUP_ENV})")
    p.add_argument("--region", default=env(identitystore.REGION_ENV),
                   help=f"Identity Center's home Region (default: ${identitystore.REGION_ENV}, else $AWS_REGION)")
    p.add_argument("--user-id-attribute", default=env(identitystore.ATTRIBUTE_ENV) or identitystore.DEFAULT_ATTRIBUTE,
                   help="the directory attribute whose value is the user's id in users/, as Terraform maps it to "
                        f"the session tag (default: ${identitystore.ATTRIBUTE_ENV}, else "
                        f"{identitystore.DEFAULT_ATTRIBUTE.replace('%', '%%')})")
    p.add_argument("--max-removals", type=int, default=10,
                   help="refuse (exit 3) to propose more removals than this in one run (default 10)")
    p.add_argument("--report", type=Path, default=Path("directory-check.json"),
                   help="where to write the JSON report for scripts/ci/directory-pr (default directory-check.json)")
    p.add_argument("--format", choices=("markdown", "json"), default="markdown",
                   help="what to print (default markdown)")


def run(args: argparse.Namespace) -> int:
    from reconciler.runctx import RunContext

    if not args.identity_store_id or not args.group_id:
        raise UsageError(f"name the store and the group: --identity-store-id and --group-id "
                         f"(or ${identitystore.STORE_ENV} and ${identitystore.GROUP_ENV})")
    with RunContext(args) as ctx:
        files = [FileUser(u.id, u.email, u.source) for u in ctx.desired.users.values()]
        directory = identitystore.read(args.identity_store_id, args.group_id, attribute=args.user_id_attribute,
                                       region=args.region)
        report = limit_removals(compare(files, directory), args.max_removals)
        summary = {"checked_at": ctx.now.isoformat(timespec="seconds"), "commit": ctx.commit,
                   "identity_store_id": args.identity_store_id, "group_id": args.group_id, "files": len(files),
                   "directory_users": len(directory.users), "group_members": len(directory.group_members)}
        _write(ctx.under_root(args.report), report, summary)
    doc = {**summary, **report.to_json()}
    print(json.dumps(doc, indent=2, sort_keys=True) if args.format == "json" else render_markdown(report, summary))
    if report.refused:
        return EXIT_REFUSED
    return EXIT_CHANGES if report.differs else EXIT_OK


def _write(path: Path, report: Report, summary: dict) -> None:
    doc = {**summary, **report.to_json(), "markdown": render_markdown(report, summary)}
    with expected_io(f"cannot write the report {path}"):
        path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
