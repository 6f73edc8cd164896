"""A user's key secret is readable by its owner only, and gatewayctl writes only into secrets it made.

Two halves:
- gatewayctl against moto's Secrets Manager: a pre-created secret (a foreign resource policy, or none), a
  retagged one and a creation interrupted before its policy: refused, or finished, as
  reconciler/live/keystore.py promises; nothing is written into a refused secret.
- who can read: terraform/modules/kms, github-oidc-reconciler and employee-key-access applied to the AWS
  emulator (tests/rehearsal/aws_emulator.py) as terraform/environments/production wires them, secrets
  written by gatewayctl as the reconciler role, and then every policy read back from the emulator and
  evaluated by tests/iam_eval.py (moto evaluates none of them): the owner's Identity Center role reads;
  another user's, an admin's, a chained role or an IAM user that set its own tag, do not.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from reconciler.live import keystore
from reconciler.live.keystore import (
    CREATOR_TAG,
    OWNER_TAG,
    ForeignSecretError,
    key_hash,
    new_key,
    user_secret_policy,
)
from reconciler.live.secretsmanager import SecretsManagerStore
from tests.iam_eval import Request, allowed, kms_allowed

REPO = Path(__file__).resolve().parents[1]
REGION = "ap-south-1"
ACCOUNT = "123456789012"  # moto's
PREFIX = "llm-gateway/users/"
# Who moto says the tests' static credentials are (sts:GetCallerIdentity): the writer of their secrets.
MOTO_CALLER = f"arn:aws:sts::{ACCOUNT}:user/moto"


@pytest.fixture(autouse=True)
def fresh_aws_session():
    """keystore caches botocore's session, and with it the credentials it first found."""
    keystore._aws_session.cache_clear()
    yield
    keystore._aws_session.cache_clear()


def _uid(stem: str) -> str:
    return f"{stem}{random.randrange(10**6)}"


def _put(store: SecretsManagerStore, uid: str) -> str:
    raw = new_key()
    store.put(uid, raw, key_alias=f"u-{uid}", commit="0" * 40)
    return raw


def _stored_hash(sm, uid: str) -> str:
    return key_hash(json.loads(sm.get_secret_value(SecretId=PREFIX + uid)["SecretString"])["api_key"])


# ---------------------------------------------------------------- gatewayctl's side (moto)
def test_a_new_secret_gets_our_policy_before_any_value(aws_env):
    store = SecretsManagerStore(kms_key_id=aws_env["GATEWAYCTL_KMS_KEY_ID"])
    sm = boto3.client("secretsmanager")
    uid = _uid("fresh")
    calls = []
    real_update = store._sm.update_secret

    def update(**kwargs):  # the value's first write: the policy must be on the secret already
        calls.append(sm.get_resource_policy(SecretId=kwargs["SecretId"]).get("ResourcePolicy"))
        return real_update(**kwargs)

    store._sm.update_secret = update
    raw = _put(store, uid)
    ours = user_secret_policy(uid, MOTO_CALLER)
    assert [json.loads(c) for c in calls] == [ours]
    assert json.loads(sm.get_resource_policy(SecretId=PREFIX + uid)["ResourcePolicy"]) == ours
    tags = {t["Key"]: t["Value"] for t in sm.describe_secret(SecretId=PREFIX + uid)["Tags"]}
    assert tags[CREATOR_TAG] == MOTO_CALLER and tags[OWNER_TAG] == uid and _stored_hash(sm, uid) == key_hash(raw)
    again = _put(store, uid)  # a rotation: our own secret takes the new key
    assert _stored_hash(sm, uid) == key_hash(again)


@pytest.mark.parametrize("how", ["foreign policy", "our policy of another user", "no policy, a value",
                                 "our policy, replicated"])
def test_a_secret_someone_else_created_is_refused_and_nothing_is_written(aws_env, how):
    sm = boto3.client("secretsmanager")
    uid = _uid("newhire")
    squatter = f"arn:aws:iam::{ACCOUNT}:role/squatter"
    sm.create_secret(Name=PREFIX + uid, SecretString='{"api_key": "planted"}',  # pragma: allowlist secret
                     Tags=[{"Key": OWNER_TAG, "Value": uid}, {"Key": "managed-by", "Value": "llm-gateway-gitops"}])
    if how == "foreign policy":
        sm.put_resource_policy(SecretId=PREFIX + uid, ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": squatter}, "Action": "secretsmanager:GetSecretValue",
             "Resource": "*"}]}))
    elif how == "our policy of another user":
        sm.put_resource_policy(SecretId=PREFIX + uid, ResourcePolicy=json.dumps(
            user_secret_policy("someone-else", MOTO_CALLER)))
    elif how == "our policy, replicated":  # a replica in another region would get every new value
        sm.put_resource_policy(SecretId=PREFIX + uid, ResourcePolicy=json.dumps(user_secret_policy(uid, MOTO_CALLER)))
        sm.replicate_secret_to_regions(SecretId=PREFIX + uid, AddReplicaRegions=[{"Region": "eu-west-1"}])
    before = sm.describe_secret(SecretId=PREFIX + uid)["VersionIdsToStages"]
    store = SecretsManagerStore(kms_key_id=aws_env["GATEWAYCTL_KMS_KEY_ID"])
    with pytest.raises(ForeignSecretError, match=f"refusing to write the key of {uid}") as refused:
        _put(store, uid)
    assert "Nothing was written" in str(refused.value)
    assert sm.describe_secret(SecretId=PREFIX + uid)["VersionIdsToStages"] == before
    planted = json.loads(sm.get_secret_value(SecretId=PREFIX + uid)["SecretString"])
    assert planted == {"api_key": "planted"}  # pragma: allowlist secret
    if how == "no policy, a value":
        # A secret written by a gatewayctl older than the policy looks just like this: adopted on request.
        assert "--adopt-key-secrets" in str(refused.value)
        assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=PREFIX + uid)
        adopting = SecretsManagerStore(kms_key_id=aws_env["GATEWAYCTL_KMS_KEY_ID"], adopt_unguarded=True)
        raw = _put(adopting, uid)
        assert _stored_hash(sm, uid) == key_hash(raw)
        assert json.loads(sm.get_resource_policy(SecretId=PREFIX + uid)["ResourcePolicy"]) == user_secret_policy(
            uid, MOTO_CALLER)


def test_adopting_gives_every_listed_secret_without_a_policy_ours(aws_env, tmp_path):
    """The upgrade's sweep (apply --adopt-key-secrets): secrets an older gatewayctl wrote get the policy
    now, not at their next key; values stay; one with a foreign policy is reported, not touched."""

    from reconciler.notifications.upkeep import tend_key_secrets

    sm = boto3.client("secretsmanager")
    old, squatted = _uid("legacy"), _uid("squatted")
    for uid in (old, squatted):
        sm.create_secret(Name=PREFIX + uid, SecretString='{"api_key": "sk-old"}',  # pragma: allowlist secret
                         Tags=[{"Key": OWNER_TAG, "Value": uid}])
    foreign = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": MOTO_CALLER},
                                                       "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}
    sm.put_resource_policy(SecretId=PREFIX + squatted, ResourcePolicy=json.dumps(foreign))
    store = SecretsManagerStore(kms_key_id=aws_env["GATEWAYCTL_KMS_KEY_ID"], adopt_unguarded=True)
    store.inventory_of([old, squatted])
    record: dict = {}
    tend_key_secrets(store, record)
    assert record["key_secrets_guarded"] == [old]
    assert json.loads(sm.get_resource_policy(SecretId=PREFIX + old)["ResourcePolicy"]) == user_secret_policy(
        old, MOTO_CALLER)
    assert json.loads(sm.get_resource_policy(SecretId=PREFIX + squatted)["ResourcePolicy"]) == foreign
    value = sm.get_secret_value(SecretId=PREFIX + old)["SecretString"]
    assert value == '{"api_key": "sk-old"}'  # pragma: allowlist secret
    # Without the flag the sweep does not run.
    plain = SecretsManagerStore(kms_key_id=aws_env["GATEWAYCTL_KMS_KEY_ID"])
    plain.inventory_of([squatted])
    record = {}
    tend_key_secrets(plain, record)
    assert "key_secrets_guarded" not in record


def test_a_retagged_secret_is_refused(aws_env):
    sm = boto3.client("secretsmanager")
    store = SecretsManagerStore(kms_key_id=aws_env["GATEWAYCTL_KMS_KEY_ID"])
    uid = _uid("retag")
    raw = _put(store, uid)
    sm.tag_resource(SecretId=PREFIX + uid, Tags=[{"Key": OWNER_TAG, "Value": "mallory"}])
    with pytest.raises(ForeignSecretError, match="its gitops_user_id tag names 'mallory'"):
        _put(store, uid)
    assert _stored_hash(sm, uid) == key_hash(raw)


def test_a_secret_whose_policy_was_changed_is_refused(aws_env):
    sm = boto3.client("secretsmanager")
    store = SecretsManagerStore(kms_key_id=aws_env["GATEWAYCTL_KMS_KEY_ID"])
    uid = _uid("loosened")
    raw = _put(store, uid)
    sm.delete_resource_policy(SecretId=PREFIX + uid)  # a value, no policy, our creator tag: not an interrupted create
    with pytest.raises(ForeignSecretError, match="no resource policy and gatewayctl did not create it"):
        _put(store, uid)
    assert _stored_hash(sm, uid) == key_hash(raw)


class _Died(BaseException):
    """Stands for SIGKILL between two Secrets Manager calls."""


def test_a_creation_interrupted_before_the_policy_is_finished_by_the_next_run(aws_env):
    sm = boto3.client("secretsmanager")
    store = SecretsManagerStore(kms_key_id=aws_env["GATEWAYCTL_KMS_KEY_ID"])
    uid = _uid("halfmade")

    def die(**kwargs):
        raise _Died

    store._sm.put_resource_policy = die
    with pytest.raises(_Died):
        _put(store, uid)
    desc = sm.describe_secret(SecretId=PREFIX + uid)
    assert not desc.get("VersionIdsToStages")  # created empty: no key went in without the policy
    raw = _put(SecretsManagerStore(kms_key_id=aws_env["GATEWAYCTL_KMS_KEY_ID"]), uid)
    assert _stored_hash(sm, uid) == key_hash(raw)
    assert "ResourcePolicy" in sm.get_resource_policy(SecretId=PREFIX + uid)


def test_service_secrets_keep_their_single_create(aws_env):
    store = SecretsManagerStore(kms_key_id=aws_env["GATEWAYCTL_KMS_KEY_ID"], service_ids=("gatewayctl-svc",))
    store.put("gatewayctl-svc", new_key(), key_alias="svc", commit="0" * 40)
    sm = boto3.client("secretsmanager")
    name = "llm-gateway/service/gatewayctl-svc"  # pragma: allowlist secret
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)


# ---------------------------------------------------------------- who can read (policies as deployed)
TERRAFORM = shutil.which("terraform")
ROOT = """
provider "aws" {{
  region = "{region}"
}}

data "aws_caller_identity" "current" {{}}

resource "aws_iam_openid_connect_provider" "github" {{
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}}

locals {{
  reconciler_role_arn = "arn:aws:iam::${{data.aws_caller_identity.current.account_id}}:role/{name}-reconciler"
}}

module "kms" {{
  source = "{modules}/kms"

  name = "{name}"
  user_key_secrets = {{
    secret_prefix   = "{prefix}"
    writer_role_arn = local.reconciler_role_arn
  }}
}}

module "github_oidc_reconciler" {{
  source = "{modules}/github-oidc-reconciler"

  name                  = "{name}"
  github_repository     = "acme/llm-gateway-gitops"
  oidc_provider_arn     = aws_iam_openid_connect_provider.github.arn
  # pragma: allowlist nextline secret
  master_key_secret_arn = "arn:aws:secretsmanager:{region}:{account}:secret:llm-gateway/litellm-master-key-AbCdEf"
  user_secret_prefix    = "{prefix}"
  kms_key_arn           = module.kms.key_arn
  create_plan_role      = false
}}

module "employee_key_access" {{
  source = "{modules}/employee-key-access"

  name               = "{name}"
  user_secret_prefix = "{prefix}"
  kms_key_arn        = module.kms.key_arn
}}

output "key_arn" {{
  value = module.kms.key_arn
}}

output "reconciler_role_arn" {{
  value = module.github_oidc_reconciler.reconciler_role_arn
}}

output "employee_policy_arn" {{
  value = module.employee_key_access.policy_arn
}}
"""


def _start_emulator(log: Path) -> tuple[subprocess.Popen, str]:
    from tests.helpers import free_port

    port = free_port()
    emulator = REPO / "tests" / "rehearsal" / "aws_emulator.py"
    proc = subprocess.Popen([sys.executable, str(emulator), "--port", str(port)],
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            boto3.client("sts", endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION,
                         aws_access_key_id="testing", aws_secret_access_key="testing").get_caller_identity()
            return proc, f"http://127.0.0.1:{port}"
        except Exception:  # noqa: BLE001 - not listening yet
            if proc.poll() is not None:
                break
            time.sleep(0.3)
    proc.kill()
    raise AssertionError(f"the AWS emulator did not start; see {log}")


class Deployed:
    """The three modules applied to the emulator, alice's and bob's secrets written by gatewayctl as the
    reconciler role, and every policy read back from the emulator."""

    def __init__(self, endpoint: str, outputs: dict):
        self.endpoint = endpoint
        self.key_arn = outputs["key_arn"]["value"]
        self.reconciler = outputs["reconciler_role_arn"]["value"]
        kms = self.client("kms")
        self.key_policy = json.loads(kms.get_key_policy(KeyId=self.key_arn, PolicyName="default")["Policy"])
        iam = self.client("iam")
        arn = outputs["employee_policy_arn"]["value"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        self.employee_policy = _doc(
            iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])
        role = self.reconciler.rsplit("/", 1)[1]
        self.reconciler_policies = [_doc(iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"])
                                    for n in iam.list_role_policies(RoleName=role)["PolicyNames"]]

    def client(self, service: str, **creds: str):
        creds = creds or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, **creds)

    def secret(self, uid: str) -> tuple[str, dict, dict[str, str]]:
        """ARN, resource policy and tags of a user's secret, as the emulator holds them now."""
        sm = self.client("secretsmanager")
        desc = sm.describe_secret(SecretId=PREFIX + uid)
        policy = sm.get_resource_policy(SecretId=PREFIX + uid).get("ResourcePolicy")
        return desc["ARN"], json.loads(policy) if policy else None, {t["Key"]: t["Value"] for t in desc["Tags"]}


def _doc(document) -> dict:
    return json.loads(document) if isinstance(document, str) else document


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory):
    if TERRAFORM is None:
        pytest.skip("terraform binary not found on PATH")
    work = tmp_path_factory.mktemp("keyiso")
    proc, endpoint = _start_emulator(work / "aws-emulator.log")
    try:
        (work / "main.tf").write_text(ROOT.format(region=REGION, account=ACCOUNT, name="keyiso", prefix=PREFIX,
                                                  modules=os.path.relpath(REPO / "terraform" / "modules", work)))
        subprocess.run([str(REPO / "terraform" / "scripts" / "tf-cli-config"), str(work / "terraform.rc")],
                       check=True, capture_output=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
        env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_REGION=REGION, AWS_EC2_METADATA_DISABLED="true", TF_CLI_CONFIG_FILE=str(work / "terraform.rc"),
                   TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1")
        for args in (["init", "-input=false", "-no-color"], ["apply", "-auto-approve", "-input=false", "-no-color"]):
            run = subprocess.run([TERRAFORM, *args], cwd=work, env=env, capture_output=True, text=True, timeout=600)
            assert run.returncode == 0, f"terraform {args[0]}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        outputs = json.loads(subprocess.run([TERRAFORM, "output", "-json"], cwd=work, env=env, capture_output=True,
                                            text=True, check=True).stdout)
        d = Deployed(endpoint, outputs)
        # gatewayctl writes as the reconciler role (moto does not check the role's GitHub trust).
        creds = d.client("sts").assume_role(RoleArn=d.reconciler, RoleSessionName="GitHubActions")["Credentials"]
        with pytest.MonkeyPatch.context() as mp:
            for k, v in {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
                         "AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                         "AWS_SESSION_TOKEN": creds["SessionToken"]}.items():
                mp.setenv(k, v)
            mp.delenv("AWS_PROFILE", raising=False)
            keystore._aws_session.cache_clear()
            store = SecretsManagerStore(kms_key_id=d.key_arn)
            for uid in ("alice", "bob", "carol"):
                _put(store, uid)
            assert store.writer() == d.reconciler
        keystore._aws_session.cache_clear()
        yield d
    finally:
        proc.terminate()
        proc.wait(timeout=30)


ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
SSO = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{REGION}/AWSReservedSSO_Developer_0123456789abcdef"
SSO_ADMIN = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_fedcba"
CHAINED = f"arn:aws:iam::{ACCOUNT}:role/some-app"  # assumed with its own session tags (sts:TagSession)
IAM_USER = f"arn:aws:iam::{ACCOUNT}:user/mallory"  # tagged itself (iam:TagUser)
TAG = f"aws:PrincipalTag/{OWNER_TAG}"
VIA_SM = {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}


def _who(d: Deployed) -> dict[str, tuple[str, dict[str, str], list[dict]]]:
    """Principals: ARN, principal tags, identity policies."""
    return {
        "alice": (SSO, {TAG: "alice"}, [d.employee_policy]),
        "bob": (SSO, {TAG: "bob"}, [d.employee_policy]),
        "a session without the tag": (SSO, {}, [d.employee_policy]),
        "bob, an admin": (SSO, {TAG: "bob"}, [d.employee_policy, ADMIN]),
        "an admin without the tag": (SSO_ADMIN, {}, [ADMIN]),
        "a chained role tagged alice": (CHAINED, {TAG: "alice"}, [d.employee_policy, ADMIN]),
        "an IAM user tagged alice": (IAM_USER, {TAG: "alice"}, [d.employee_policy, ADMIN]),
        "the reconciler": (d.reconciler, {}, d.reconciler_policies),
    }


def _sm_request(d: Deployed, who: str, action: str, uid: str) -> bool:
    arn, policy, tags = d.secret(uid)
    principal, ptags, identity = _who(d)[who]
    context = {**ptags, **{f"secretsmanager:ResourceTag/{k}": v for k, v in tags.items()},
               **{f"aws:ResourceTag/{k}": v for k, v in tags.items()}}
    return allowed(Request(principal, action, arn, context), identity=identity, resource=policy)


def _kms_request(d: Deployed, who: str, action: str, uid: str, *, via_secrets_manager: bool = True) -> bool:
    arn, _, _ = d.secret(uid)
    principal, ptags, identity = _who(d)[who]
    context = {**ptags, "kms:EncryptionContext:SecretARN": arn, **(VIA_SM if via_secrets_manager else {})}
    return kms_allowed(Request(principal, action, d.key_arn, context), identity=identity, key_policy=d.key_policy)


def _reads(d: Deployed, who: str, uid: str) -> bool:
    """GetSecretValue: Secrets Manager's decision, and KMS's on the Decrypt it makes as the caller."""
    return _sm_request(d, who, "secretsmanager:GetSecretValue", uid) and _kms_request(d, who, "kms:Decrypt", uid)


@pytest.mark.tools
@pytest.mark.slow
def test_only_the_owners_identity_center_role_reads_a_key(deployed):
    d = deployed
    assert _reads(d, "alice", "alice")  # the owner can: the denials below are not a blanket refusal
    assert _reads(d, "bob, an admin", "bob")
    for who in ("bob, an admin", "an admin without the tag", "a chained role tagged alice", "an IAM user tagged alice",
                "the reconciler"):
        assert not _sm_request(d, who, "secretsmanager:GetSecretValue", "alice"), who
        if who != "the reconciler":  # which decrypts through Secrets Manager when it writes a new version
            assert not _kms_request(d, who, "kms:Decrypt", "alice"), who
    # Each layer holds alone: Secrets Manager's resource policy for an admin whose Decrypt KMS would allow ...
    assert not _sm_request(d, "bob, an admin", "secretsmanager:GetSecretValue", "alice")
    # ... and the key policy for one whose GetSecretValue an identity policy allows outright.
    assert not _kms_request(d, "bob, an admin", "kms:Decrypt", "alice")
    assert not _kms_request(d, "a chained role tagged alice", "kms:Decrypt", "alice")


@pytest.mark.tools
@pytest.mark.slow
def test_the_key_decrypts_user_secrets_only_through_secrets_manager(deployed):
    d = deployed
    for who in ("alice", "bob, an admin", "an admin without the tag", "the reconciler"):
        assert not _kms_request(d, who, "kms:Decrypt", "alice", via_secrets_manager=False), who
    # Encrypting a value for a user's secret (a new version) is the writer's alone.
    assert _kms_request(d, "the reconciler", "kms:GenerateDataKey", "alice")
    assert not _kms_request(d, "bob, an admin", "kms:GenerateDataKey", "alice")
    assert not _kms_request(d, "an admin without the tag", "kms:Encrypt", "alice")


@pytest.mark.tools
@pytest.mark.slow
def test_only_gatewayctl_changes_a_user_secret(deployed):
    d = deployed
    for action in ("secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy",
                   "secretsmanager:TagResource", "secretsmanager:UntagResource", "secretsmanager:PutSecretValue",
                   "secretsmanager:UpdateSecret", "secretsmanager:RotateSecret",
                   "secretsmanager:ReplicateSecretToRegions", "secretsmanager:RestoreSecret"):
        for who in ("alice", "bob, an admin", "an admin without the tag", "an IAM user tagged alice"):
            assert not _sm_request(d, who, action, "alice"), (who, action)
    for action in ("secretsmanager:PutResourcePolicy", "secretsmanager:TagResource", "secretsmanager:UpdateSecret"):
        assert _sm_request(d, "the reconciler", action, "alice"), action
    # An administrator may delete one (terraform/scripts/teardown does): a secret re-created in its place
    # is refused by gatewayctl (test_a_secret_someone_else_created_is_refused_and_nothing_is_written).
    assert _sm_request(d, "an admin without the tag", "secretsmanager:DeleteSecret", "alice")


@pytest.mark.tools
@pytest.mark.slow
def test_a_retagged_secret_is_readable_by_nobody_new(deployed):
    d = deployed
    # What an attacker who could tag would do (moto lets us, as AWS would let whoever the policy does not deny).
    d.client("secretsmanager").tag_resource(SecretId=PREFIX + "carol", Tags=[{"Key": OWNER_TAG, "Value": "bob"}])
    assert d.secret("carol")[2][OWNER_TAG] == "bob"
    # bob's own tag now matches the secret's: the ABAC identity policy alone would let him in.
    assert allowed(Request(SSO, "secretsmanager:GetSecretValue", d.secret("carol")[0],
                           {TAG: "bob", f"secretsmanager:ResourceTag/{OWNER_TAG}": "bob",
                            "secretsmanager:ResourceTag/managed-by": "llm-gateway-gitops"}),
                   identity=[d.employee_policy])
    assert not _sm_request(d, "bob, an admin", "secretsmanager:GetSecretValue", "carol")  # the policy names carol
    assert not _kms_request(d, "bob, an admin", "kms:Decrypt", "carol")  # the key binds the secret's name


@pytest.mark.tools
@pytest.mark.slow
def test_only_the_owner_reads_their_month_and_only_gatewayctl_writes_it(deployed):
    """`gatewayctl me` reads the usage tags the nightly job writes on a user's secret (DescribeSecret): the
    owner's session reads their key and their month; another user's session, or one without the tag, reads
    neither; only the reconciler role (the nightly job's) can write the tags."""
    d = deployed
    creds = d.client("sts").assume_role(RoleArn=d.reconciler, RoleSessionName="GitHubActions")["Credentials"]
    as_reconciler = {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
                     "aws_session_token": creds["SessionToken"]}
    month = {"gatewayctl:me:spend-usd": "1.250000", "gatewayctl:me:budget-usd": "2.00"}
    d.client("secretsmanager", **as_reconciler).tag_resource(
        SecretId=PREFIX + "alice", Tags=[{"Key": k, "Value": v} for k, v in month.items()])
    assert month.items() <= d.secret("alice")[2].items()  # the month is on the secret the policies guard
    assert _reads(d, "alice", "alice") and _sm_request(d, "alice", "secretsmanager:DescribeSecret", "alice")
    for who in ("bob", "a session without the tag"):
        assert not _reads(d, who, "alice"), who
        assert not _sm_request(d, who, "secretsmanager:DescribeSecret", "alice"), who
        assert not _sm_request(d, who, "secretsmanager:GetSecretValue", "alice"), who
    assert _sm_request(d, "bob", "secretsmanager:DescribeSecret", "bob")  # bob reads his own
    assert _sm_request(d, "the reconciler", "secretsmanager:TagResource", "alice")
    for who in ("alice", "bob", "bob, an admin"):  # nobody else can write a member's month, the owner included
        assert not _sm_request(d, who, "secretsmanager:TagResource", "alice"), who
