"""tests/iam_eval.py against the rules AWS documents, one at a time (the key-secret tests rely on each)."""

from __future__ import annotations

import pytest

from tests.iam_eval import Request, allowed, condition_holds, kms_allowed

ROLE = "arn:aws:iam::111122223333:role/app"
SSO = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/ap-south-1/AWSReservedSSO_Dev_0123"
ALICE_ARN = "arn:aws:secretsmanager:ap-south-1:111122223333:secret:llm-gateway/users/alice-AbCdEf"
TAG = "aws:PrincipalTag/gitops_user_id"


def req(principal: str = ROLE, action: str = "secretsmanager:GetSecretValue") -> Request:
    return Request(principal, action, ALICE_ARN)


def tagged(value: str, principal: str = ROLE) -> Request:
    return Request(principal, "secretsmanager:GetSecretValue", ALICE_ARN, {TAG: value})


@pytest.mark.parametrize(("condition", "request_", "holds"), [
    ({"StringEquals": {TAG: "alice"}}, tagged("alice"), True),
    ({"StringEquals": {TAG: "alice"}}, tagged("Alice"), False),  # case-sensitive values
    ({"StringEquals": {TAG: "alice"}}, req(), False),  # missing key: false
    ({"StringNotEquals": {TAG: "alice"}}, req(), True),  # ... but true for a negated operator
    ({"StringNotEquals": {TAG: "alice"}}, tagged("alice"), False),
    ({"StringNotEquals": {TAG: ["alice", "bob"]}}, tagged("bob"), False),  # negated, several values: NOR
    ({"StringEquals": {TAG: ["alice", "bob"]}}, tagged("bob"), True),  # several values: OR
    ({"StringEquals": {"AWS:PRINCIPALTAG/GITOPS_USER_ID": "alice"}}, tagged("alice"), True),  # key names ignore case
    ({"StringLike": {TAG: "al*"}}, tagged("alice"), True),
    ({"StringLike": {TAG: "al?"}}, tagged("alice"), False),
    ({"StringNotLike": {TAG: "b*"}}, tagged("alice"), True),
    ({"Null": {TAG: "true"}}, req(), True),
    ({"Null": {TAG: "false"}}, req(), False),
    ({"Null": {TAG: "false"}}, tagged("x"), True),
    ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/*"}},
     req(SSO), True),  # * spans slashes within the resource part
    ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/*"}},
     req(ROLE), False),
    ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/app"}}, req(ROLE), True),
    ({"ArnNotEquals": {"aws:PrincipalArn": ROLE}}, req(ROLE), False),
    ({"ArnNotEquals": {"aws:PrincipalArn": ROLE}}, req(SSO), True),
    # two operators: AND
    ({"StringEquals": {TAG: "alice"}, "ArnEquals": {"aws:PrincipalArn": SSO}}, tagged("alice"), False),
    ({"StringEquals": {TAG: "alice"}, "ArnEquals": {"aws:PrincipalArn": ROLE}}, tagged("alice"), True),
    # policy variables: resolved from the request; a missing one: the condition does not match
    ({"StringLike": {"kms:EncryptionContext:SecretARN": "*/users/${aws:PrincipalTag/gitops_user_id}-??????"}},
     Request(ROLE, "kms:Decrypt", "*", {TAG: "alice", "kms:EncryptionContext:SecretARN": ALICE_ARN}), True),
    ({"StringLike": {"kms:EncryptionContext:SecretARN": "*/users/${aws:PrincipalTag/gitops_user_id}-??????"}},
     Request(ROLE, "kms:Decrypt", "*", {TAG: "alic", "kms:EncryptionContext:SecretARN": ALICE_ARN}), False),
    ({"StringNotLike": {"kms:EncryptionContext:SecretARN": "*/users/${aws:PrincipalTag/gitops_user_id}-??????"}},
     Request(ROLE, "kms:Decrypt", "*", {"kms:EncryptionContext:SecretARN": ALICE_ARN}), False),
])
def test_condition_rules(condition, request_, holds):
    assert condition_holds(condition, request_) is holds


def test_unknown_operator_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="not supported"):
        condition_holds({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, req())


ADMIN = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def test_explicit_deny_in_the_resource_policy_beats_an_identity_allow():
    deny = {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*"}]}
    assert allowed(req(), identity=[ADMIN]) is True
    assert allowed(req(), identity=[ADMIN], resource=deny) is False
    assert allowed(req(), identity=[]) is False  # implicit deny


def test_not_action_and_principal():
    rp = {"Statement": [{"Effect": "Deny", "Principal": {"AWS": SSO}, "NotAction": "secretsmanager:Describe*",
                         "Resource": "*"}]}
    assert allowed(req(SSO), identity=[ADMIN], resource=rp) is False
    assert allowed(req(SSO, "secretsmanager:DescribeSecret"), identity=[ADMIN], resource=rp) is True
    assert allowed(req(ROLE), identity=[ADMIN], resource=rp) is True  # another principal


def test_kms_needs_the_key_policy_and_root_delegates_to_iam():
    root = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                           "Action": "kms:*", "Resource": "*"}]}
    decrypt = Request(ROLE, "kms:Decrypt", "arn:aws:kms:ap-south-1:111122223333:key/k")
    assert kms_allowed(decrypt, identity=[ADMIN], key_policy=root) is True
    assert kms_allowed(decrypt, identity=[], key_policy=root) is False  # delegation needs an IAM allow
    direct = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:Decrypt", "Resource": "*"}]}
    assert kms_allowed(decrypt, identity=[], key_policy=direct) is True
    other = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                            "Action": "kms:*", "Resource": "*"}]}
    assert kms_allowed(decrypt, identity=[ADMIN], key_policy=other) is False  # IAM alone is not enough
