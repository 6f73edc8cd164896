"""The desired state: policies/models.yaml, policies/tiers.yaml and users/*.yaml as typed objects."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from reconciler.desired import guardrails, shards

MANAGED_BY = "llm-gateway-gitops"  # ownership marker in the metadata of every object gatewayctl creates
KEY_ALIAS_PREFIX = "u-"
# A user id: lowercase letters and digits, separated by single '.', '_' or '-' (schemas/user.schema.json
# says the same, with a length of 2 to 64; tests/test_mapping.py checks that they agree).
USER_ID = re.compile(r"^[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*$")
BUDGET_DURATION = "1mo"  # calendar month, reset at midnight on the 1st in litellm_settings.timezone
BUDGET_TZ = ZoneInfo("Asia/Kolkata")  # gateway/config.yaml litellm_settings.timezone: budgets and expiries


# The output tokens LiteLLM 1.108.7 reserves against a budget for a request that names no max_tokens
# (DEFAULT_MAX_OUTPUT_TOKENS_FALLBACK in litellm/proxy/spend_tracking/budget_reservation.py; the schema's
# maximum for default_max_tokens; tests/test_validate.py checks both against the installed litellm).
LITELLM_RESERVED_OUTPUT_TOKENS = 16384


@dataclass(frozen=True)
class Model:
    alias: str
    display_name: str
    bedrock_model_id: str
    # the output cap Bedrock gets when a client sends no max_tokens (else Bedrock's default: the
    # model's maximum output, 64,000 for the Claude 4.5 models: more than LiteLLM reserved). docs/architecture.md.
    default_max_tokens: int = LITELLM_RESERVED_OUTPUT_TOKENS
    # the same model through another profile, tried when Bedrock throttles bedrock_model_id (models.yaml
    # `fallback:`, reconciler/desired/residency.py); None: no fallback
    fallback_model_id: str | None = None

    @property
    def served_by(self) -> tuple[str, ...]:
        """Every Bedrock ID a call to this alias may be served (and billed) by, primary first."""
        return (self.bedrock_model_id,) + ((self.fallback_model_id,) if self.fallback_model_id else ())


def _same(value: Any) -> Any:
    return value


def money(value: Decimal | None) -> str | None:
    """Dollars as plan compares and shows them: a string of cents."""
    return None if value is None else f"{value:.2f}"


def _sorted_list(value: Any) -> list:
    return sorted(value or ())


@dataclass(frozen=True)
class Sync:
    """Where LiteLLM keeps one field of a users/ or policies/tiers.yaml entry (reconciler/desired/mapping.py)."""

    litellm: str | None = None  # a top-level field of the LiteLLM object (the request's and the answer's name)
    metadata: str | None = None  # or a key of the object's `metadata`; neither: the field stays in git
    identity: bool = False  # the object's id: looked up by, never compared
    yaml: bool = True  # read from the file (False: the loader sets it)
    parse: Callable[[Any], Any] = _same  # the file's value (already schema-checked) -> the field's value
    compare: Callable[[Any], Any] = _same  # desired and live value, as plan compares and shows them
    wire: Callable[[Any], Any] = _same  # the value as sent to LiteLLM
    placeholder: str | None = None  # what `gatewayctl import` writes when LiteLLM has no value ({id}, {today})


def mapped(*, default: Any = dataclasses.MISSING, **sync: Any) -> Any:
    """A dataclass field that declares where LiteLLM keeps it: the mapping table is these declarations."""
    return dataclasses.field(default=default, metadata={"sync": Sync(**sync)})


# The mapping table, part 1: each tier field and the LiteLLM team field it becomes. A tier is a team
# whose member budget row holds the per-member limits (docs/adr/0002-tier-model-in-litellm.md).
@dataclass(frozen=True)
class Tier:
    key: str = mapped(yaml=False)  # its key in tiers.yaml; its team ids are reconciler/desired/shards.py's
    display_name: str = mapped(litellm="team_alias")
    monthly_budget_usd: Decimal = mapped(litellm="team_member_budget", parse=Decimal, compare=money, wire=float)
    rpm_limit: int = mapped(litellm="team_member_rpm_limit")
    models: tuple[str, ...] = mapped(litellm="models", parse=tuple, compare=_sorted_list, wire=_sorted_list)
    # cap on a user's budget_exception.extra_usd; None: not allowed
    max_exception_usd: Decimal | None = mapped(default=None, parse=Decimal)
    # stated overshoot bound: the most one request can cost
    max_request_usd: Decimal | None = mapped(default=None, parse=Decimal)
    key_max_age_days: int | None = mapped(default=None)  # scheduled rotation (reconciler/plan/rotation.py); None: never
    key_rotation_overlap_days: int = mapped(default=7)  # how long the previous key keeps working after a rotation
    # % of a member's monthly budget at which they and their owner are told (reconciler/notifications/budget_alerts.py)
    alerts: tuple[int, ...] = mapped(default=(), parse=tuple)
    # how many LiteLLM teams the tier is spread over, each user in one (reconciler/desired/shards.py)
    teams: int = mapped(default=1)
    # the Bedrock guardrail its models' calls go through (reconciler/desired/guardrails.py); stays in git
    guardrail: guardrails.Guardrail | None = mapped(default=None, parse=guardrails.parse)

    @property
    def team_id(self) -> str:
        """The tier's first team (shard 0, `tier-<key>`). A member's own team is team_for(user id)."""
        return shards.team_id(self.key)

    @property
    def team_ids(self) -> tuple[str, ...]:
        """Every team of the tier, shard 0 first."""
        return shards.team_ids(self.key, self.teams)

    def team_for(self, user_id: str) -> str:
        """The team a member of this tier belongs in."""
        return shards.team_id(self.key, shards.shard_of(user_id, self.teams))


@dataclass(frozen=True)
class BudgetException:
    """A time-boxed budget increase granted through a PR, ending with the day `until`."""

    extra_usd: Decimal
    until: dt.date
    ticket: str


# The mapping table, part 2: each users/<id>.yaml field and where LiteLLM keeps it. Plan compares
# and writes, and `gatewayctl import` reads back, exactly what is declared here.
@dataclass(frozen=True)
class User:
    id: str = mapped(litellm="user_id", identity=True)  # also the key alias u-<id> and the key secret's name
    name: str = mapped(litellm="user_alias", placeholder="{id}")
    email: str = mapped(litellm="user_email")
    tier: str = mapped(metadata="tier")  # a record: the grant itself is the tier team's membership
    owner: str = mapped(metadata="owner", placeholder="unknown-approver@example.com")
    cost_center: str = mapped(metadata="cost_center", placeholder="UNASSIGNED")
    justification: str = mapped(
        placeholder="Imported from LiteLLM on {today}; replace with the real justification.")
    expires: dt.date | None = mapped(parse=dt.date.fromisoformat)  # the key's own expiry (plan.key_expiry)
    source: str = mapped(yaml=False)  # file the grant came from, for messages and audit
    # a member budget row of its own (reconciler/plan/member_budget.py), checked by validate
    budget_exception: BudgetException | None = mapped(default=None, yaml=False)

    @property
    def key_alias(self) -> str:
        return KEY_ALIAS_PREFIX + self.id

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today


@dataclass(frozen=True)
class DesiredState:
    region: str
    models: dict[str, Model]
    tiers: dict[str, Tier]
    users: dict[str, User]


def end_of_day_utc(day: dt.date) -> str:
    """The end of `day` in the budget timezone, as UTC ISO 8601: the instant LiteLLM compares
    against, for key expiries and budget exceptions alike."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), tzinfo=BUDGET_TZ)
    return end.astimezone(dt.UTC).isoformat(timespec="seconds")
