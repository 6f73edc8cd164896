"""users/ against the directory: who has a file but is gone, disabled or out of the group, who is in the
group without a file, and whose file names another email than the directory. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from reconciler.directory.identitystore import Directory

GONE = "not in the directory"
DISABLED = "disabled in the directory"


@dataclass(frozen=True)
class FileUser:
    user_id: str
    email: str
    path: str  # users/<id>.yaml, relative to the repository root


@dataclass
class Report:
    """What differs. `remove` lists the files of people who are gone or disabled: the pull request
    deletes exactly these. The rest is reported for a person to decide."""

    remove: list[dict] = field(default_factory=list)
    not_in_group: list[dict] = field(default_factory=list)
    without_file: list[dict] = field(default_factory=list)
    email_mismatch: list[dict] = field(default_factory=list)
    refused: str | None = None  # set when the removals exceed the safety limit; nothing is removed then

    @property
    def differs(self) -> bool:
        return bool(self.remove or self.not_in_group or self.without_file or self.email_mismatch)

    def to_json(self) -> dict:
        return {"remove": self.remove, "not_in_group": self.not_in_group, "without_file": self.without_file,
                "email_mismatch": self.email_mismatch, "refused": self.refused}


def compare(files: Iterable[FileUser], directory: Directory) -> Report:
    report = Report()
    by_id = directory.by_user_id()
    files = sorted(files, key=lambda f: f.user_id)
    for f in files:
        person = by_id.get(f.user_id)
        if person is None or not person.enabled:
            report.remove.append({"user": f.user_id, "path": f.path, "reason": GONE if person is None else DISABLED})
            continue
        if person.directory_id not in directory.group_members:
            report.not_in_group.append({"user": f.user_id, "path": f.path})
        if (person.email or "").casefold() != f.email.casefold():
            report.email_mismatch.append({"user": f.user_id, "path": f.path, "file_email": f.email,
                                          "directory_email": person.email})
    with_file = {f.user_id for f in files}
    for member_id in sorted(directory.group_members):
        person = directory.users.get(member_id)
        if person is not None and person.enabled and person.user_id not in with_file:
            report.without_file.append({"user": person.user_id, "directory_user_id": member_id,
                                        "email": person.email})
    return report


def limit_removals(report: Report, max_removals: int) -> Report:
    """More removals than the limit looks like a wrong store or group, not like people leaving: propose none."""
    if len(report.remove) > max_removals:
        report.refused = (f"{len(report.remove)} user files would be removed, more than --max-removals "
                          f"{max_removals}: check GATEWAYCTL_IDENTITY_STORE and GATEWAYCTL_DIRECTORY_GROUP first")
    return report


def render_markdown(report: Report, summary: dict) -> str:
    lines = ["## Directory check: users/ against IAM Identity Center", "",
             f"{summary['files']} user files, {summary['directory_users']} directory users, "
             f"{summary['group_members']} members of the group.", ""]
    if not report.differs:
        return "\n".join([*lines, "users/ matches the directory."]) + "\n"
    if report.refused:
        lines += [f"**Refused:** {report.refused}.", ""]
    sections = [
        ("Files of people gone or disabled (the pull request removes them)", report.remove,
         lambda r: f"`{r['path']}`: {r['reason']}"),
        ("Files of people not in the group (they cannot sign in for their key; remove the file or add them)",
         report.not_in_group, lambda r: f"`{r['path']}`"),
        ("Group members without a file (add users/<id>.yaml through a reviewed pull request, or take them out "
         "of the group)", report.without_file, lambda r: f"`{r['user'] or '(no user id attribute)'}` ({r['email']})"),
        ("Emails that differ from the directory's primary email", report.email_mismatch,
         lambda r: f"`{r['path']}`: file {r['file_email']}, directory {r['directory_email']}"),
    ]
    for title, rows, line in sections:
        if rows:
            lines += [f"### {title}", "", *(f"- {line(r)}" for r in rows), ""]
    return "\n".join(lines)
