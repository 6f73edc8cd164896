"""The AWS emulator of the deploy rehearsal: moto's server, plus what the stack needs that moto 5.2.5
lacks or gets wrong. Each addition reads and writes moto's own models (or a tag store beside them),
so it behaves like the rest of moto; none is a canned answer.

    python tests/rehearsal/aws_emulator.py --port N

Found by `terraform apply` of terraform/environments/production against plain moto:
- Budgets DescribeSubscribersForNotification, and tags (ListTagsForResource, TagResource,
  UntagResource; CreateBudget's ResourceTags): aws_budgets_budget reads both after create; moto
  answered 500 (NotImplementedError) and the provider retried until its timeout.
- Application Auto Scaling tags (ListTagsForResource, TagResource, UntagResource;
  RegisterScalableTarget's Tags): same story for aws_appautoscaling_target.
- IAM policy conditions (moto's evaluator, used for S3 bucket policies): moto skips condition operators
  it does not implement (all but StringEquals), so the standard "Deny s3:* when aws:SecureTransport is
  false" statement denied every request, PutObject included. moto passes no request context either, and
  AWS evaluates a condition on a missing key as false. So here a statement with a condition moto can't
  evaluate does not apply, as in AWS for a request without that key. The bucket policies themselves are
  checked by terraform test.
- S3 PutBucketLogging: moto's check of the target bucket's policy crashed (500) on a statement whose
  Principal is "*", and accepted only a Resource equal to "<bucket>/<prefix>*", not a wider pattern that
  AWS accepts. Here the check is: some Allow statement grants logging.s3.amazonaws.com s3:PutObject on
  a Resource pattern that covers "<bucket>/<prefix>".

- ECS RunTask of a Fargate task definition whose containers set no memory of their own (valid: the task's
  memory applies) crashed (500) adding None to the memory total. Here such a container counts the task's
  memory. (moto records one-off tasks and reports them STOPPED with exit code 0; it runs no container.)
- ECS one-off tasks: moto moves a task one state per DescribeTasks (RUNNING, DEACTIVATING, STOPPING,
  DEPROVISIONING, STOPPED), so bootstrap-secrets' `aws ecs wait tasks-stopped` (the CLI polls every 6 s)
  idled about 19 s per task, 76 s per rehearsal, for a container that never runs. Here a task reports its
  final state, STOPPED with exit code 0, from its first description (moto's state manager, "immediate").
- Application Auto Scaling RegisterScalableTarget did not move an ECS service's desired count into the
  new [min, max] range, which AWS documents it does ("it changes the resource's current capacity to a
  value that is inside of this range"). Unpausing the gateway (min 0 -> 2) relies on it, because the
  service ignores desired_count changes so autoscaling can own it.

Found by the second `terraform plan`, which must show no change (each is a field moto drops, so the
provider saw a difference that AWS would not report):
- ECS CreateService/UpdateService drop capacityProviderStrategy, deploymentConfiguration,
  enableECSManagedTags, healthCheckGracePeriodSeconds and friends, and report launchType EC2 when a
  capacity provider strategy was given: the service was planned for replacement.
- RDS parameters set through ModifyDBParameterGroup had no Source; AWS reports "user", and the provider
  keeps only user parameters, so all four parameters were planned again.
- KMS EnableKeyRotation ignored RotationPeriodInDays and GetKeyRotationStatus never returned it.
- EC2 security-group rules that reference another group lost their Description (moto reads it only from
  CIDR rules).

Added for `gatewayctl preflight` (moto 5.2.5 has none of Bedrock's model-access APIs):
- Bedrock GetInferenceProfile, GetFoundationModelAvailability, Put/GetUseCaseForModelAccess,
  ListFoundationModelAgreementOffers and CreateFoundationModelAgreement, over a fresh account's state:
  the catalog is the Bedrock IDs of the pinned LiteLLM's model registry (reconciler/desired/bedrock.py), an
  inference profile exists only in the Regions its prefix serves, Anthropic models are NOT_AUTHORIZED
  until the account submits its use case (PutUseCaseForModelAccess), and a third-party model's
  Marketplace agreement is NOT_AVAILABLE until CreateFoundationModelAgreement accepts its offer.

Added for the tiers' guardrails (modules/bedrock-guardrails; moto 5.2.5 has no Bedrock guardrail API):
- Bedrock CreateGuardrail, GetGuardrail (DRAFT or a numbered version), UpdateGuardrail, DeleteGuardrail,
  CreateGuardrailVersion and ListGuardrails, and tags on a guardrail's ARN (moto's TagResource and
  ListTagsForResource knew only custom models and jobs). A version is a snapshot of the DRAFT taken by
  CreateGuardrailVersion, as in Bedrock; GetGuardrail answers the policies in its read shape
  (topicPolicy.topics, contentPolicy.filters, sensitiveInformationPolicy.piiEntities). The policies are
  stored, not enforced: calls with a guardrail go to the fake Bedrock runtime, which applies them.

Added for the VPC runner:
- CodeBuild CreateWebhook, UpdateWebhook and DeleteWebhook (the VPC runner's webhook,
  aws_codebuild_webhook) are missing from moto; here they keep the webhook in moto's project, where
  BatchGetProjects returns it, as AWS does. CreateProject dropped concurrentBuildLimit, so the second
  plan saw a change; it is kept.

Added for IAM Identity Center (terraform/modules/identity-center, `gatewayctl directory-check`):
- Identity Store UserStatus: moto's users have none (botocore's model has ENABLED/DISABLED). Here every
  user has one, ENABLED when created, returned by ListUsers and DescribeUser. In AWS a user is disabled in
  the console or by the SCIM provisioner (`active: false`); here UpdateUser, missing from moto, stands in:
  AttributePath `userStatus` sets it, and it replaces the other single-valued attributes moto keeps.
- Identity Store DeleteUser left the user's group memberships behind; AWS removes them with the user.
- SSO Admin attributes for access control (Create/Describe/Update/DeleteInstanceAccessControlAttribute-
  Configuration) are missing: kept per instance, reported ENABLED as AWS does once they are set.
- SSO Admin tags (TagResource, UntagResource, ListTagsForResource; CreatePermissionSet's Tags) and
  DescribePermissionSetProvisioningStatus (moto's ProvisionPermissionSet answers SUCCEEDED at once, so
  the status of that request is SUCCEEDED) are missing.

Not filled, and excluded from the rehearsal instead (tests/rehearsal/README.md): ElastiCache user
groups (CreateUserGroup and the rest are missing from moto altogether).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import fnmatch
import json
import os
import uuid
from collections.abc import Callable
from urllib.parse import unquote

# AWS managed policies (PowerUserAccess, ReadOnlyAccess) exist in every account; moto loads them only
# when asked, before its IAM backend is first built.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.bedrock.exceptions import ResourceNotFoundException as BedrockNotFound
from moto.bedrock.exceptions import ValidationException as BedrockValidation
from moto.bedrock.models import BedrockBackend
from moto.bedrock.responses import BedrockResponse
from moto.budgets.exceptions import NotFoundException
from moto.budgets.responses import BudgetsResponse
from moto.codebuild.exceptions import ResourceNotFoundException as CodeBuildNotFound
from moto.codebuild.responses import CodeBuildResponse
from moto.core.responses import BaseResponse
from moto.ec2.models.security_groups import SecurityGroupRule
from moto.ecs.models import EC2ContainerServiceBackend
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.iam.access_control import IAMPolicyStatement, PermissionResult
from moto.iam.policy_conditions import CONDITION_OPERATIONS
from moto.identitystore.exceptions import ValidationException as IdentityStoreValidation
from moto.identitystore.responses import IdentityStoreResponse
from moto.kms.responses import KmsResponse
from moto.rds.models import DBParameterGroup
from moto.s3.models import FakeBucket
from moto.ssoadmin.exceptions import ResourceNotFoundException as SSOAdminNotFound
from moto.ssoadmin.responses import SSOAdminResponse

# ------------------------------------------------------------------ tags for JSON-protocol services
# One store per service, keyed by (account, ARN); lives as long as the server, like moto's models.
_TAGS: dict[str, dict[tuple[str, str], dict[str, str]]] = {}


def _tag_store(resp: BaseResponse) -> dict[tuple[str, str], dict[str, str]]:
    return _TAGS.setdefault(resp.service_name, {})


def _add_tagging(cls: type[BaseResponse], tags_param: str, as_list: bool) -> None:
    """Give a JSON-protocol service TagResource / UntagResource / ListTagsForResource on ResourceARN.
    `tags_param` names the tag parameter; `as_list` says it is [{Key, Value}] rather than a map."""

    def decode(raw: object) -> dict[str, str]:
        if as_list:
            return {t["Key"]: t["Value"] for t in raw or []}  # type: ignore[union-attr]
        return dict(raw or {})  # type: ignore[call-overload]

    def tag_resource(self: BaseResponse) -> str:
        key = (self.current_account, self._get_param("ResourceARN"))
        _tag_store(self).setdefault(key, {}).update(decode(self._get_param(tags_param)))
        return json.dumps({})

    def untag_resource(self: BaseResponse) -> str:
        tags = _tag_store(self).get((self.current_account, self._get_param("ResourceARN")), {})
        for k in self._get_param("ResourceTagKeys") or self._get_param("TagKeys") or []:
            tags.pop(k, None)
        return json.dumps({})

    def list_tags_for_resource(self: BaseResponse) -> str:
        tags = _tag_store(self).get((self.current_account, self._get_param("ResourceARN")), {})
        if as_list:
            return json.dumps({tags_param: [{"Key": k, "Value": v} for k, v in sorted(tags.items())]})
        return json.dumps({tags_param: tags})

    cls.tag_resource = tag_resource  # type: ignore[attr-defined]
    cls.untag_resource = untag_resource  # type: ignore[attr-defined]
    cls.list_tags_for_resource = list_tags_for_resource  # type: ignore[attr-defined]


def _tag_on_create(cls: type[BaseResponse], action: str, tags_param: str, as_list: bool,
                   arn_of: Callable[[BaseResponse, str], str]) -> None:
    """Wrap a create action of moto's that drops the tags it is given, and keep them."""
    moto_action = getattr(cls, action)

    def create(self: BaseResponse) -> str:
        result = moto_action(self)
        raw = self._get_param(tags_param)
        if raw:  # an update that names no tags (RegisterScalableTarget again) leaves them as they are
            tags = {t["Key"]: t["Value"] for t in raw} if as_list else dict(raw)
            _tag_store(self).setdefault((self.current_account, arn_of(self, result)), {}).update(tags)
        return result

    setattr(cls, action, create)


_add_tagging(BudgetsResponse, "ResourceTags", as_list=True)
_tag_on_create(BudgetsResponse, "create_budget", "ResourceTags", as_list=True,
               arn_of=lambda r, _: f"arn:{r.partition}:budgets::{r._get_param('AccountId')}:budget/"
                                   f"{r._get_param('Budget')['BudgetName']}")
_moto_register_scalable_target = ApplicationAutoScalingResponse.register_scalable_target


def _register_scalable_target(self: ApplicationAutoScalingResponse) -> str:
    result = _moto_register_scalable_target(self)
    resource = self._get_param("ResourceId") or ""
    if self._get_param("ServiceNamespace") == "ecs" and resource.startswith("service/"):
        from moto.ecs.models import ecs_backends

        _, cluster, name = resource.split("/", 2)
        service = ecs_backends[self.current_account][self.region].services.get(f"{cluster}:{name}")
        low, high = self._get_int_param("MinCapacity"), self._get_int_param("MaxCapacity")
        if service is not None:
            if low is not None and service.desired_count < low:
                service.desired_count = low
            if high is not None and service.desired_count > high:
                service.desired_count = high
    return result


ApplicationAutoScalingResponse.register_scalable_target = _register_scalable_target  # type: ignore[method-assign]
_add_tagging(ApplicationAutoScalingResponse, "Tags", as_list=False)
_tag_on_create(ApplicationAutoScalingResponse, "register_scalable_target", "Tags", as_list=False,
               arn_of=lambda _, result: json.loads(result)["ScalableTargetARN"])


# ------------------------------------------------------------------ budgets notifications
def _describe_subscribers_for_notification(self: BudgetsResponse) -> str:
    budget = self.backend.budgets[self._get_param("AccountId")].get(self._get_param("BudgetName"))
    if budget is None:
        raise NotFoundException("Unable to get subscribers - the budget doesn't exist.")
    wanted = self._get_param("Notification")
    subscribers = next((n.subscribers for n in budget.notifications if n.details == wanted), [])
    return json.dumps({"Subscribers": subscribers, "NextToken": None})


BudgetsResponse.describe_subscribers_for_notification = _describe_subscribers_for_notification  # type: ignore[attr-defined]


# ------------------------------------------------------------------ policy conditions
_moto_statement_permits = IAMPolicyStatement.is_action_permitted


def _statement_permits(self: IAMPolicyStatement, action: str, resource: str = "*", principal: str | None = None,
                       incoming_condition_values: dict[str, str] | None = None) -> PermissionResult:
    if set(self._statement.get("Condition") or {}) - set(CONDITION_OPERATIONS):
        return PermissionResult.NEUTRAL  # its condition is on a key moto has no value for: false in AWS
    return _moto_statement_permits(self, action, resource, principal, incoming_condition_values)


IAMPolicyStatement.is_action_permitted = _statement_permits  # type: ignore[method-assign]


# ------------------------------------------------------------------ S3 server access logging
def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def _log_permissions_enabled_policy(target_bucket: FakeBucket, target_prefix: str | None) -> bool:
    if not target_bucket.policy:
        return False
    target = f"arn:{target_bucket.partition}:s3:::{target_bucket.name}/{target_prefix or ''}"
    for stmt in _as_list(json.loads(target_bucket.policy.decode())["Statement"]):
        principal = stmt.get("Principal")
        services = _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
        if (stmt.get("Effect") == "Allow" and "logging.s3.amazonaws.com" in services
                and any(a in ("s3:PutObject", "s3:*", "*") for a in _as_list(stmt.get("Action", [])))
                and any(fnmatch.fnmatchcase(target + "x", r) for r in _as_list(stmt.get("Resource", [])))):
            return True
    return False


FakeBucket._log_permissions_enabled_policy = staticmethod(_log_permissions_enabled_policy)  # type: ignore[method-assign]


# ------------------------------------------------------------------ ECS services
# Request members moto's Service model does not keep; they are kept under their API names, which is
# where moto's serializer looks first.
_ECS_SERVICE_PASSTHROUGH = ("capacityProviderStrategy", "deploymentConfiguration", "enableECSManagedTags",
                            "healthCheckGracePeriodSeconds", "enableExecuteCommand",
                            "availabilityZoneRebalancing", "placementConstraints", "placementStrategy",
                            "serviceRegistries")


def _keep_service_members(action_name: str) -> None:
    moto_action = getattr(EC2ContainerServiceResponse, action_name)

    def action(self: EC2ContainerServiceResponse):  # type: ignore[no-untyped-def]
        result = moto_action(self)
        service = result.result["service"]  # type: ignore[attr-defined]
        for member in _ECS_SERVICE_PASSTHROUGH:
            value = self._get_param(member)
            if value is not None:
                setattr(service, member, value)
        if self._get_param("capacityProviderStrategy"):
            service.launch_type = None  # AWS reports no launch type for a capacity-provider service
        return result

    setattr(EC2ContainerServiceResponse, action_name, action)


_moto_task_requirements = EC2ContainerServiceBackend._calculate_task_resource_requirements


def _task_requirements(task_definition):  # type: ignore[no-untyped-def]
    with_memory = copy.copy(task_definition)
    with_memory.container_definitions = [
        c if c.get("memory") or c.get("memoryReservation") or c.get("Memory") or c.get("MemoryReservation")
        else {**c, "memory": int(task_definition.memory or 0)}
        for c in task_definition.container_definitions]
    return _moto_task_requirements(with_memory)


EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(_task_requirements)  # type: ignore[method-assign]
_keep_service_members("create_service")
_keep_service_members("update_service")


# ------------------------------------------------------------------ RDS parameter source
_moto_update_parameters = DBParameterGroup.update_parameters


def _update_parameters(self: DBParameterGroup, new_parameters) -> None:  # type: ignore[no-untyped-def]
    _moto_update_parameters(self, [{**p, "Source": "user"} for p in new_parameters])


DBParameterGroup.update_parameters = _update_parameters  # type: ignore[method-assign]


# ------------------------------------------------------------------ KMS rotation period
def _enable_key_rotation(self: KmsResponse) -> str:
    key_id = self._get_param("KeyId")
    self._validate_cmk_id(key_id)
    self.kms_backend.enable_key_rotation(key_id)
    key = self.kms_backend.keys[self.kms_backend.get_key_id(key_id)]
    key.rotation_period_in_days = self._get_int_param("RotationPeriodInDays") or 365  # AWS's default
    return json.dumps(None)


def _get_key_rotation_status(self: KmsResponse) -> str:
    key_id = self._get_param("KeyId")
    self._validate_cmk_id(key_id)
    key = self.kms_backend.keys[self.kms_backend.get_key_id(key_id)]
    status: dict[str, object] = {"KeyRotationEnabled": key.key_rotation_status, "KeyId": key.id}
    if key.key_rotation_status:
        status["RotationPeriodInDays"] = getattr(key, "rotation_period_in_days", 365)
    return json.dumps(status)


KmsResponse.enable_key_rotation = _enable_key_rotation  # type: ignore[method-assign]
KmsResponse.get_key_rotation_status = _get_key_rotation_status  # type: ignore[method-assign]


# ------------------------------------------------------------------ security-group rule descriptions
SecurityGroupRule.description = property(  # type: ignore[assignment]
    lambda self: self.ip_range.get("Description") or self.source_group.get("Description"))


# ------------------------------------------------------------------ Bedrock model access
# Per account: whether the Anthropic use case was submitted, and the models whose offer was accepted.
_USE_CASES: dict[str, str] = {}
_AGREEMENTS: dict[str, set[str]] = {}


def _catalog_knows(model_id: str) -> bool:
    from reconciler.desired.bedrock import PROFILE_PREFIXES, registry

    return model_id in registry() or any(f"{prefix}.{model_id}" in registry() for prefix in PROFILE_PREFIXES)


def _path_model_id(resp: BaseResponse) -> str:
    return unquote(resp.path.rstrip("/").rsplit("/", 1)[-1])


def _get_inference_profile(self: BedrockResponse) -> str:
    from reconciler.desired.bedrock import PROFILE_PREFIXES, registry, split_profile

    profile_id = _path_model_id(self)
    prefix, base = split_profile(profile_id)
    served = prefix is not None and profile_id in registry() and PROFILE_PREFIXES[prefix][1](self.region)  # type: ignore[operator]
    if not served:
        raise BedrockNotFound(f"The specified inference profile {profile_id} does not exist in {self.region}.")
    regions = [self.region] if prefix != "global" else ["ap-south-1", "us-east-1", "eu-west-1"]
    return json.dumps({
        "inferenceProfileName": f"{prefix.upper()} {base}", "inferenceProfileId": profile_id,  # type: ignore[union-attr]
        "inferenceProfileArn": f"arn:{self.partition}:bedrock:{self.region}:{self.current_account}:"
                               f"inference-profile/{profile_id}",
        "models": [{"modelArn": f"arn:{self.partition}:bedrock:{r}::foundation-model/{base}"} for r in regions],
        "status": "ACTIVE", "type": "SYSTEM_DEFINED"})


def _get_foundation_model_availability(self: BedrockResponse) -> str:
    model_id = _path_model_id(self)
    if not _catalog_knows(model_id):
        raise BedrockNotFound(f"The provided model identifier {model_id} is invalid.")
    third_party = not model_id.startswith("amazon.")
    authorized = not model_id.startswith("anthropic.") or self.current_account in _USE_CASES
    agreed = not third_party or model_id in _AGREEMENTS.get(self.current_account, set())
    return json.dumps({
        "modelId": model_id,
        "agreementAvailability": {"status": "AVAILABLE" if agreed else "NOT_AVAILABLE"},
        "authorizationStatus": "AUTHORIZED" if authorized else "NOT_AUTHORIZED",
        "entitlementAvailability": "AVAILABLE", "regionAvailability": "AVAILABLE"})


def _put_use_case_for_model_access(self: BedrockResponse) -> tuple[int, dict, str]:
    form = self._get_param("formData")  # a blob: base64 on the wire, kept as it came
    if not form:
        raise BedrockValidation("formData is required")
    _USE_CASES[self.current_account] = form
    return 201, {}, "{}"


def _get_use_case_for_model_access(self: BedrockResponse) -> str:
    if self.current_account not in _USE_CASES:
        raise BedrockNotFound("No use case has been submitted for this account.")
    return json.dumps({"formData": _USE_CASES[self.current_account]})


def _list_foundation_model_agreement_offers(self: BedrockResponse) -> str:
    model_id = _path_model_id(self)
    if not _catalog_knows(model_id):
        raise BedrockNotFound(f"The provided model identifier {model_id} is invalid.")
    return json.dumps({"modelId": model_id, "offers": [
        {"offerId": f"offer-{model_id}", "offerToken": f"offer-token:{model_id}", "termDetails": {}}]})


def _create_foundation_model_agreement(self: BedrockResponse) -> tuple[int, dict, str]:
    model_id, token = self._get_param("modelId"), self._get_param("offerToken")
    if token != f"offer-token:{model_id}":
        raise BedrockValidation(f"offerToken is not an offer for {model_id}")
    _AGREEMENTS.setdefault(self.current_account, set()).add(model_id)
    return 202, {}, json.dumps({"modelId": model_id})


BedrockResponse.get_inference_profile = _get_inference_profile  # type: ignore[attr-defined]
BedrockResponse.get_foundation_model_availability = _get_foundation_model_availability  # type: ignore[attr-defined]
BedrockResponse.put_use_case_for_model_access = _put_use_case_for_model_access  # type: ignore[attr-defined]
BedrockResponse.get_use_case_for_model_access = _get_use_case_for_model_access  # type: ignore[attr-defined]
BedrockResponse.list_foundation_model_agreement_offers = _list_foundation_model_agreement_offers  # type: ignore[attr-defined]
BedrockResponse.create_foundation_model_agreement = _create_foundation_model_agreement  # type: ignore[attr-defined]


# ------------------------------------------------------------------ Bedrock guardrails
def _guardrails(self: BedrockResponse) -> dict[str, dict]:
    """This account and Region's guardrails by id: {"draft": request, "versions": {n: snapshot}, ...}."""
    return self.bedrock_backend.__dict__.setdefault("emulated_guardrails", {})


def _guardrail(self: BedrockResponse) -> dict:
    ident = unquote(self.path.split("/guardrails/", 1)[1].split("?", 1)[0]).rsplit("/", 1)[-1]
    g = _guardrails(self).get(ident)
    if g is None:
        raise BedrockNotFound(f"Guardrail {ident} does not exist.")
    return g


def _read_shape(request: dict) -> dict:
    """CreateGuardrail's policy configs as GetGuardrail reports them."""
    out = {k: request[k] for k in ("name", "description", "blockedInputMessaging", "blockedOutputsMessaging")
           if k in request}
    renames = (("topicPolicyConfig", "topicPolicy", "topicsConfig", "topics"),
               ("contentPolicyConfig", "contentPolicy", "filtersConfig", "filters"),
               ("wordPolicyConfig", "wordPolicy", "wordsConfig", "words"),
               ("wordPolicyConfig", "wordPolicy", "managedWordListsConfig", "managedWordLists"),
               ("contextualGroundingPolicyConfig", "contextualGroundingPolicy", "filtersConfig", "filters"))
    for config, policy, items, read in renames:
        if request.get(config) and items in request[config]:
            out.setdefault(policy, {})[read] = request[config][items]
    if request.get("sensitiveInformationPolicyConfig"):
        sip = request["sensitiveInformationPolicyConfig"]
        out["sensitiveInformationPolicy"] = {"piiEntities": sip.get("piiEntitiesConfig", []),
                                             "regexes": sip.get("regexesConfig", [])}
    return out


_POLICY_MEMBERS = ("description", "topicPolicyConfig", "contentPolicyConfig", "wordPolicyConfig",
                   "sensitiveInformationPolicyConfig", "contextualGroundingPolicyConfig",
                   "blockedInputMessaging", "blockedOutputsMessaging")


def _create_guardrail(self: BedrockResponse) -> tuple[int, dict, str]:
    body = json.loads(self.body)
    if any(g["draft"]["name"] == body["name"] for g in _guardrails(self).values()):
        raise BedrockValidation(f"A guardrail named {body['name']} already exists.")
    gid = uuid.uuid4().hex[:12]
    arn = f"arn:{self.partition}:bedrock:{self.region}:{self.current_account}:guardrail/{gid}"
    now = dt.datetime.now(dt.UTC).isoformat()
    key = body.get("kmsKeyId")
    _guardrails(self)[gid] = {"draft": {k: body[k] for k in ("name", *_POLICY_MEMBERS) if k in body},
                              "arn": arn, "kms": key, "created": now, "updated": now, "versions": {}}
    self.bedrock_backend.tagger.tag_resource(arn, [{"Key": t["key"], "Value": t["value"]}
                                                   for t in body.get("tags") or []])
    return 202, {}, json.dumps({"guardrailId": gid, "guardrailArn": arn, "version": "DRAFT", "createdAt": now})


def _get_guardrail(self: BedrockResponse) -> str:
    g = _guardrail(self)
    version = self._get_param("guardrailVersion") or "DRAFT"
    request = g["draft"] if version == "DRAFT" else g["versions"].get(version)
    if request is None:
        raise BedrockNotFound(f"Guardrail version {version} does not exist.")
    gid = g["arn"].rsplit("/", 1)[-1]
    answer = {**_read_shape(request), "guardrailId": gid, "guardrailArn": g["arn"], "version": version,
              "status": "READY", "createdAt": g["created"], "updatedAt": g["updated"]}
    if version != "DRAFT":
        answer["description"] = request.get("versionDescription", "")
    if g["kms"]:
        answer["kmsKeyArn"] = g["kms"]
    return json.dumps(answer)


def _update_guardrail(self: BedrockResponse) -> tuple[int, dict, str]:
    g, body = _guardrail(self), json.loads(self.body)
    g["draft"] = {k: body[k] for k in ("name", *_POLICY_MEMBERS) if k in body}
    g["kms"] = body.get("kmsKeyId", g["kms"])
    g["updated"] = dt.datetime.now(dt.UTC).isoformat()
    gid = g["arn"].rsplit("/", 1)[-1]
    return 202, {}, json.dumps({"guardrailId": gid, "guardrailArn": g["arn"], "version": "DRAFT",
                                "updatedAt": g["updated"]})


def _create_guardrail_version(self: BedrockResponse) -> tuple[int, dict, str]:
    g, body = _guardrail(self), json.loads(self.body or "{}")
    number = str(len(g["versions"]) + 1)
    g["versions"][number] = {**copy.deepcopy(g["draft"]), "versionDescription": body.get("description", "")}
    return 202, {}, json.dumps({"guardrailId": g["arn"].rsplit("/", 1)[-1], "version": number})


def _delete_guardrail(self: BedrockResponse) -> tuple[int, dict, str]:
    g = _guardrail(self)
    version = self._get_param("guardrailVersion")
    if version:
        g["versions"].pop(version, None)
    else:
        del _guardrails(self)[g["arn"].rsplit("/", 1)[-1]]
        self.bedrock_backend.tagger.delete_all_tags_for_resource(g["arn"])
    return 202, {}, "{}"


def _list_guardrails(self: BedrockResponse) -> str:
    return json.dumps({"guardrails": [
        {"id": gid, "arn": g["arn"], "name": g["draft"]["name"], "status": "READY", "version": "DRAFT",
         "createdAt": g["created"], "updatedAt": g["updated"]} for gid, g in _guardrails(self).items()]})


_moto_list_arns = BedrockBackend._list_arns


def _list_arns(self: BedrockBackend) -> list[str]:  # tags on a guardrail, too
    return _moto_list_arns(self) + [g["arn"] for g in self.__dict__.get("emulated_guardrails", {}).values()]


BedrockResponse.create_guardrail = _create_guardrail  # type: ignore[attr-defined]
BedrockResponse.get_guardrail = _get_guardrail  # type: ignore[attr-defined]
BedrockResponse.update_guardrail = _update_guardrail  # type: ignore[attr-defined]
BedrockResponse.create_guardrail_version = _create_guardrail_version  # type: ignore[attr-defined]
BedrockResponse.delete_guardrail = _delete_guardrail  # type: ignore[attr-defined]
BedrockResponse.list_guardrails = _list_guardrails  # type: ignore[attr-defined]
BedrockBackend._list_arns = _list_arns  # type: ignore[method-assign]


# ------------------------------------------------------------------ CodeBuild webhooks
# ------------------------------------------------------------------ CodeBuild webhooks (the VPC runner)
def _codebuild_project(self: CodeBuildResponse) -> dict:
    name = self._get_param("projectName")
    project = self.codebuild_backend.codebuild_projects.get(name)
    if project is None:
        raise CodeBuildNotFound(f"Project {name} does not exist")
    return project.project_metadata


def _create_webhook(self: CodeBuildResponse) -> str:
    metadata = _codebuild_project(self)
    url = f"https://codebuild.{self.region}.amazonaws.com/webhooks?t=emulated&v=1"
    metadata["webhook"] = {
        "url": url, "payloadUrl": url,
        "branchFilter": self._get_param("branchFilter") or "",
        "filterGroups": self._get_param("filterGroups") or [],
        "buildType": self._get_param("buildType") or "BUILD",
        "manualCreation": bool(self._get_param("manualCreation")),
    }
    if self._get_param("scopeConfiguration"):
        metadata["webhook"]["scopeConfiguration"] = self._get_param("scopeConfiguration")
    return json.dumps({"webhook": metadata["webhook"]})


def _update_webhook(self: CodeBuildResponse) -> str:
    metadata = _codebuild_project(self)
    hook = metadata.setdefault("webhook", {})
    for member in ("branchFilter", "filterGroups", "buildType"):
        if self._get_param(member) is not None:
            hook[member] = self._get_param(member)
    return json.dumps({"webhook": hook})


def _delete_webhook(self: CodeBuildResponse) -> str:
    _codebuild_project(self).pop("webhook", None)
    return "{}"


_moto_create_project = CodeBuildResponse.create_project


def _create_project(self: CodeBuildResponse):  # type: ignore[no-untyped-def]
    result = _moto_create_project(self)
    if self._get_param("concurrentBuildLimit") is not None:
        metadata = self.codebuild_backend.codebuild_projects[self._get_param("name")].project_metadata
        metadata["concurrentBuildLimit"] = self._get_param("concurrentBuildLimit")
    return result


CodeBuildResponse.create_webhook = _create_webhook  # type: ignore[attr-defined]
CodeBuildResponse.update_webhook = _update_webhook  # type: ignore[attr-defined]
CodeBuildResponse.delete_webhook = _delete_webhook  # type: ignore[attr-defined]
CodeBuildResponse.create_project = _create_project  # type: ignore[method-assign]


# ------------------------------------------------------------------ IAM Identity Center
_USER_STATUS: dict[tuple[str, str, str], str] = {}  # (account, store, user) -> ENABLED | DISABLED
_UPDATABLE_USER_FIELDS = {"displayName": "DisplayName", "nickName": "NickName", "title": "Title",
                          "userType": "UserType", "emails": "Emails", "userName": "UserName"}


def _store_key(resp: IdentityStoreResponse, user_id: str) -> tuple[str, str, str]:
    return resp.current_account, resp._get_param("IdentityStoreId"), user_id


def _with_status(resp: IdentityStoreResponse, user: dict) -> dict:
    return {**user, "UserStatus": _USER_STATUS.get(_store_key(resp, user["UserId"]), "ENABLED")}


def _list_users(self: IdentityStoreResponse) -> str:
    doc = json.loads(_moto_list_users(self))
    doc["Users"] = [_with_status(self, u) for u in doc["Users"]]
    return json.dumps(doc)


def _describe_user(self: IdentityStoreResponse) -> str:
    return json.dumps(_with_status(self, json.loads(_moto_describe_user(self))))


def _update_user(self: IdentityStoreResponse) -> str:
    store, user_id = self._get_param("IdentityStoreId"), self._get_param("UserId")
    user = self.identitystore_backend.describe_user(store, user_id)  # ResourceNotFound as moto raises it
    changes = {}
    for op in self._get_param("Operations") or []:
        path, value = op["AttributePath"], op.get("AttributeValue")
        if path == "userStatus" and value in ("ENABLED", "DISABLED"):
            _USER_STATUS[_store_key(self, user_id)] = value
        elif path in _UPDATABLE_USER_FIELDS:
            changes[_UPDATABLE_USER_FIELDS[path]] = value
        else:
            raise IdentityStoreValidation(message=f"AttributePath {path} is not updatable here")
    self.identitystore_backend.identity_stores[store].users[user_id] = user._replace(**changes)
    return json.dumps({})


def _delete_user(self: IdentityStoreResponse) -> str:
    store, user_id = self._get_param("IdentityStoreId"), self._get_param("UserId")
    result = _moto_delete_user(self)
    memberships = self.identitystore_backend.identity_stores[store].group_memberships
    for membership_id in [k for k, m in memberships.items() if m["MemberId"].get("UserId") == user_id]:
        del memberships[membership_id]
    _USER_STATUS.pop(_store_key(self, user_id), None)
    return result


_moto_list_users, _moto_describe_user = IdentityStoreResponse.list_users, IdentityStoreResponse.describe_user
_moto_delete_user = IdentityStoreResponse.delete_user
IdentityStoreResponse.list_users = _list_users  # type: ignore[method-assign]
IdentityStoreResponse.describe_user = _describe_user  # type: ignore[method-assign]
IdentityStoreResponse.update_user = _update_user  # type: ignore[attr-defined]
IdentityStoreResponse.delete_user = _delete_user  # type: ignore[method-assign]

_ACCESS_CONTROL: dict[tuple[str, str], list] = {}  # (account, instance ARN) -> AccessControlAttributes


def _instance_key(resp: SSOAdminResponse) -> tuple[str, str]:
    instance = resp._get_param("InstanceArn")
    if instance not in [i.instance_arn for i in resp.ssoadmin_backend.instances]:
        raise SSOAdminNotFound(message=f"instance {instance} not found")
    return resp.current_account, instance


def _put_access_control(self: SSOAdminResponse) -> str:
    config = self._get_param("InstanceAccessControlAttributeConfiguration") or {}
    _ACCESS_CONTROL[_instance_key(self)] = config.get("AccessControlAttributes", [])
    return json.dumps({})


def _describe_access_control(self: SSOAdminResponse) -> str:
    attributes = _ACCESS_CONTROL.get(_instance_key(self))
    if attributes is None:
        raise SSOAdminNotFound(message="no access control attribute configuration for this instance")
    return json.dumps({"Status": "ENABLED", "StatusReason": "",
                       "InstanceAccessControlAttributeConfiguration": {"AccessControlAttributes": attributes}})


def _delete_access_control(self: SSOAdminResponse) -> str:
    _ACCESS_CONTROL.pop(_instance_key(self), None)
    return json.dumps({})


def _sso_tags(resp: SSOAdminResponse) -> dict[str, str]:
    return _tag_store(resp).setdefault((resp.current_account, resp._get_param("ResourceArn")), {})


def _sso_tag_resource(self: SSOAdminResponse) -> str:
    _sso_tags(self).update({t["Key"]: t["Value"] for t in self._get_param("Tags") or []})
    return json.dumps({})


def _sso_untag_resource(self: SSOAdminResponse) -> str:
    for key in self._get_param("TagKeys") or []:
        _sso_tags(self).pop(key, None)
    return json.dumps({})


def _sso_list_tags(self: SSOAdminResponse) -> str:
    return json.dumps({"Tags": [{"Key": k, "Value": v} for k, v in sorted(_sso_tags(self).items())]})


def _create_permission_set(self: SSOAdminResponse) -> str:
    result = _moto_create_permission_set(self)
    arn = json.loads(result)["PermissionSet"]["PermissionSetArn"]
    _tag_store(self).setdefault((self.current_account, arn), {}).update(
        {t["Key"]: t["Value"] for t in self._get_param("Tags") or []})
    return result


def _provisioning_status(self: SSOAdminResponse) -> str:
    return json.dumps({"PermissionSetProvisioningStatus": {
        "AccountId": self.current_account, "RequestId": self._get_param("ProvisionPermissionSetRequestId"),
        "Status": "SUCCEEDED"}})


_moto_create_permission_set = SSOAdminResponse.create_permission_set
SSOAdminResponse.create_permission_set = _create_permission_set  # type: ignore[method-assign]
SSOAdminResponse.create_instance_access_control_attribute_configuration = _put_access_control  # type: ignore[attr-defined]
SSOAdminResponse.update_instance_access_control_attribute_configuration = _put_access_control  # type: ignore[attr-defined]
SSOAdminResponse.describe_instance_access_control_attribute_configuration = _describe_access_control  # type: ignore[attr-defined]
SSOAdminResponse.delete_instance_access_control_attribute_configuration = _delete_access_control  # type: ignore[attr-defined]
SSOAdminResponse.tag_resource = _sso_tag_resource  # type: ignore[attr-defined]
SSOAdminResponse.untag_resource = _sso_untag_resource  # type: ignore[attr-defined]
SSOAdminResponse.list_tags_for_resource = _sso_list_tags  # type: ignore[attr-defined]
SSOAdminResponse.describe_permission_set_provisioning_status = _provisioning_status  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    from moto.moto_api import state_manager
    from moto.server import main as moto_main

    state_manager.set_transition("ecs::task", {"progression": "immediate"})

    moto_main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main()
