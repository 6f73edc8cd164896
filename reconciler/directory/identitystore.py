"""Read the Identity Store: every user (ListUsers) and the members of the employees' group
(ListGroupMemberships). Nothing else is called: the directory role may do only these two.

The gateway user id of a directory user is the attribute Identity Center maps to the gitops_user_id
session tag (terraform/modules/identity-center, `${path:userName}` by default), so the check and the
session tag read the same value.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from reconciler.errors import GatewayctlError, UsageError

STORE_ENV, GROUP_ENV = "GATEWAYCTL_IDENTITY_STORE", "GATEWAYCTL_DIRECTORY_GROUP"
REGION_ENV, ATTRIBUTE_ENV = "GATEWAYCTL_DIRECTORY_REGION", "GATEWAYCTL_DIRECTORY_ATTRIBUTE"
DEFAULT_ATTRIBUTE = "${path:userName}"
# The single-valued string attributes of a User (botocore's identitystore model) a mapping can name.
_USER_ATTRIBUTES = {"userName": "UserName", "displayName": "DisplayName", "nickName": "NickName",
                    "title": "Title", "userType": "UserType", "preferredLanguage": "PreferredLanguage",
                    "locale": "Locale", "timezone": "Timezone", "profileUrl": "ProfileUrl"}


class DirectoryError(GatewayctlError):
    """The Identity Store could not be read."""


@dataclass(frozen=True)
class DirectoryUser:
    directory_id: str  # the Identity Store's UserId
    user_id: str | None  # the gateway user id: the mapped attribute's value
    email: str | None  # the primary email (the only one when none is marked primary)
    enabled: bool  # UserStatus; a user without one (older API answers) counts as enabled


@dataclass(frozen=True)
class Directory:
    users: dict[str, DirectoryUser]  # by Identity Store UserId
    group_members: frozenset[str]  # Identity Store UserIds of the group's members

    def by_user_id(self) -> dict[str, DirectoryUser]:
        return {u.user_id: u for u in self.users.values() if u.user_id}


def attribute_key(mapping: str) -> str:
    """`UserName` from `${path:userName}` (or `userName`); only single-valued user attributes are known."""
    m = re.fullmatch(r"\$\{path:([^${}\s]+)\}", mapping)
    path = m.group(1) if m else mapping
    if path not in _USER_ATTRIBUTES:
        raise UsageError(f"--user-id-attribute {mapping!r}: the check reads only {', '.join(sorted(_USER_ATTRIBUTES))}")
    return _USER_ATTRIBUTES[path]


def primary_email(user: dict) -> str | None:
    emails = [e for e in user.get("Emails") or [] if e.get("Value")]
    chosen = next((e for e in emails if e.get("Primary")), emails[0] if len(emails) == 1 else None)
    return chosen["Value"] if chosen else None


def from_api(user: dict, key: str) -> DirectoryUser:
    return DirectoryUser(directory_id=user["UserId"], user_id=user.get(key), email=primary_email(user),
                         enabled=user.get("UserStatus", "ENABLED") != "DISABLED")


def read(store_id: str, group_id: str, *, attribute: str, region: str | None) -> Directory:
    """Every user of the store and the group's member ids, each list read through all its pages."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    key = attribute_key(attribute)
    client = boto3.client("identitystore", region_name=region or os.environ.get("AWS_REGION"))
    try:
        users = [from_api(u, key) for page in client.get_paginator("list_users").paginate(IdentityStoreId=store_id)
                 for u in page["Users"]]
        members = frozenset(
            m["MemberId"]["UserId"]
            for page in client.get_paginator("list_group_memberships").paginate(IdentityStoreId=store_id,
                                                                               GroupId=group_id)
            for m in page["GroupMemberships"] if "UserId" in m.get("MemberId", {}))
    except (BotoCoreError, ClientError) as exc:
        raise DirectoryError(f"cannot read Identity Store {store_id} (group {group_id}): {exc}") from exc
    return Directory(users={u.directory_id: u for u in users}, group_members=members)
