"""The nightly directory check against the AWS emulator's Identity Store (tests/rehearsal/aws_emulator.py) and
the GitHub emulator: scripts/ci/directory-check (`gatewayctl directory-check`), then scripts/ci/directory-pr,
as drift.yml's two directory jobs run them, on a copy of this repository (users/alice, bob and carol).

Each test has a directory of its own (its own Identity Store id) and a GitHub repository of its own, seeded
with the repository's files, so what a pull request removes is read back from the branch it made.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from github_emulator import GitHubEmulator
from stack import GITHUB_REPOSITORY, REPO, Rehearsal

PEOPLE = {"alice": "alice@example.com", "bob": "bob@example.com", "carol": "carol@example.com"}


@pytest.fixture(scope="module")
def rh(tmp_path_factory: pytest.TempPathFactory):
    r = Rehearsal(tmp_path_factory.mktemp("directory"))
    r.copy_repository()
    r.start_emulator()
    yield r
    r.close()


class Directory:
    """One Identity Store of the emulator holding the three people of users/, all in the employees' group."""

    def __init__(self, rh: Rehearsal, store_id: str):
        self.ids = rh.aws("identitystore")
        self.store = store_id
        self.group = self.ids.create_group(IdentityStoreId=store_id, DisplayName="llm-gateway-users")["GroupId"]
        self.users = {name: self.add(name, email) for name, email in PEOPLE.items()}

    def add(self, name: str, email: str, *, member: bool = True) -> str:
        user_id = self.ids.create_user(IdentityStoreId=self.store, UserName=name, DisplayName=name.title(),
                                       Name={"GivenName": name.title(), "FamilyName": "Example"},
                                       Emails=[{"Value": email, "Type": "work", "Primary": True}])["UserId"]
        if member:
            self.ids.create_group_membership(IdentityStoreId=self.store, GroupId=self.group,
                                             MemberId={"UserId": user_id})
        return user_id

    def update(self, name: str, path: str, value: object) -> None:
        self.ids.update_user(IdentityStoreId=self.store, UserId=self.users[name],
                             Operations=[{"AttributePath": path, "AttributeValue": value}])

    def env(self) -> dict[str, str]:
        return {"GATEWAYCTL_IDENTITY_STORE": self.store, "GATEWAYCTL_DIRECTORY_GROUP": self.group}


_stores = iter(range(1, 100))


@pytest.fixture
def directory(rh: Rehearsal) -> Directory:
    return Directory(rh, f"d-{next(_stores):010d}")


@pytest.fixture
def github(rh: Rehearsal):
    gh = GitHubEmulator()
    tracked = subprocess.run(["git", "ls-files", "users", "policies"], cwd=rh.repo, check=True, capture_output=True,
                             text=True).stdout.split()
    gh.seed_repository({path: (rh.repo / path).read_text() for path in tracked})
    yield gh
    gh.close()


def nightly(rh: Rehearsal, directory: Directory, github: GitHubEmulator) -> tuple[int, dict]:
    """drift.yml's directory job, then its pull-request job with the first one's exit code and report."""
    check = rh.run(["scripts/ci/directory-check"], expect=(0, 2), env=directory.env())
    report = json.loads((rh.repo / "directory-check.json").read_text())
    rh.run([sys.executable, "scripts/ci/directory-pr", "directory-check.json"],
           env={"GITHUB_API_URL": github.url, "GITHUB_TOKEN": "ghs_emulated", "GITHUB_REPOSITORY": GITHUB_REPOSITORY,
                "DIRECTORY_EXIT_CODE": str(check.returncode), "RUN_URL": "https://github.example/run/1"})
    return check.returncode, report


def open_pulls(github: GitHubEmulator) -> list[dict]:
    return [p for p in github.pulls.values() if p["state"] == "open"]


def test_a_disabled_user_gives_drift_and_one_pull_request_that_removes_their_file(rh, directory, github):
    main_before = github.files_on("main")
    directory.update("bob", "userStatus", "DISABLED")

    code, report = nightly(rh, directory, github)
    assert code == 2
    assert report["remove"] == [{"user": "bob", "path": "users/bob.yaml", "reason": "disabled in the directory"}]
    assert (report["not_in_group"], report["without_file"], report["email_mismatch"]) == ([], [], [])
    [pr] = open_pulls(github)
    assert pr["base"]["ref"] == "main" and "users/bob.yaml" in pr["body"]
    assert main_before - github.files_on(pr["head"]["ref"]) == {"users/bob.yaml"}
    assert github.files_on(pr["head"]["ref"]) - main_before == set()
    assert github.files_on("main") == main_before, "main is never written: the removal waits for review"

    # The next night, still drift: the same pull request is brought up to date, no second one.
    code, _ = nightly(rh, directory, github)
    assert code == 2 and len(github.pulls) == 1 and len(open_pulls(github)) == 1

    # Re-enabled in the directory: nothing to remove, so the pull request is closed.
    directory.update("bob", "userStatus", "ENABLED")
    code, report = nightly(rh, directory, github)
    assert code == 0 and report["remove"] == [] and open_pulls(github) == []


def test_a_user_deleted_from_the_directory_is_drift(rh, directory, github):
    directory.ids.delete_user(IdentityStoreId=directory.store, UserId=directory.users["carol"])

    code, report = nightly(rh, directory, github)
    assert code == 2
    assert report["remove"] == [{"user": "carol", "path": "users/carol.yaml", "reason": "not in the directory"}]
    [pr] = open_pulls(github)
    assert github.files_on("main") - github.files_on(pr["head"]["ref"]) == {"users/carol.yaml"}


def test_a_member_without_a_file_and_an_email_mismatch_are_reported_not_removed(rh, directory, github):
    directory.add("dave", "dave@example.com")
    directory.add("erin", "erin@example.com", member=False)  # in the directory, not in the group: not ours
    directory.update("alice", "emails", [{"Value": "alice.fernandes@example.com", "Type": "work", "Primary": True}])

    code, report = nightly(rh, directory, github)
    assert code == 2
    assert [r["user"] for r in report["without_file"]] == ["dave"]
    assert report["email_mismatch"] == [{"user": "alice", "path": "users/alice.yaml", "file_email": "alice@example.com",
                                         "directory_email": "alice.fernandes@example.com"}]
    assert report["remove"] == [] and github.pulls == {}, "only people gone or disabled are proposed for removal"
    assert "`dave` (dave@example.com)" in report["markdown"] and "alice.fernandes@example.com" in report["markdown"]


def test_a_file_whose_person_left_the_group_is_reported(rh, directory, github):
    ids = directory.ids
    membership = ids.get_group_membership_id(IdentityStoreId=directory.store, GroupId=directory.group,
                                             MemberId={"UserId": directory.users["bob"]})["MembershipId"]
    ids.delete_group_membership(IdentityStoreId=directory.store, MembershipId=membership)

    code, report = nightly(rh, directory, github)
    assert code == 2 and report["not_in_group"] == [{"user": "bob", "path": "users/bob.yaml"}]
    assert report["remove"] == [] and github.pulls == {}


def test_a_clean_directory_exits_0_and_opens_no_pull_request(rh, directory, github):
    code, report = nightly(rh, directory, github)
    assert code == 0
    assert (report["remove"], report["not_in_group"], report["without_file"], report["email_mismatch"]) == \
        ([], [], [], [])
    assert (report["files"], report["directory_users"], report["group_members"]) == (3, 3, 3)
    assert github.pulls == {} and set(github.refs) == {"heads/main"}


def test_a_wrong_store_removes_nobody(rh, directory):
    """An empty directory (a wrong store id) would make every file "gone": over --max-removals, refused."""
    wrong_store = {**directory.env(), "GATEWAYCTL_IDENTITY_STORE": "d-0999999999"}
    proc = rh.run([str(Path(sys.executable).with_name("gatewayctl")), "directory-check", "--max-removals", "2",
                   "--format", "json"], expect=(3,), env=wrong_store)
    assert "more than --max-removals 2" in json.loads(proc.stdout)["refused"]


def test_the_check_calls_only_what_the_directory_role_allows(rh, directory, monkeypatch, tmp_path):
    """The operations gatewayctl calls are exactly the identitystore actions of the directory role's policy."""
    import boto3

    from reconciler import cli

    for k, v in {**rh.aws_env(), **directory.env()}.items():
        monkeypatch.setenv(k, v)
    called: set[str] = set()
    session = boto3.Session()
    session.events.register("before-call.identitystore", lambda model, **_: called.add(model.name))
    monkeypatch.setattr(boto3, "client", session.client)
    assert cli.main(["directory-check", "--root", str(rh.repo), "--report", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["files"] == 3

    policy = (REPO / "terraform" / "modules" / "github-oidc-reconciler" / "main.tf").read_text()
    allowed = set(re.findall(r'"identitystore:(\w+)"', policy))
    assert called == allowed == {"ListUsers", "ListGroupMemberships"}
