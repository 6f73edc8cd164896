"""The desired state: policies/models.yaml, policies/tiers.yaml and users/*.yaml as typed objects."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

MANAGED_BY = "llm-gateway-gitops"  # ownership marker in the metadata of every object gatewayctl creates
TEAM_PREFIX = "tier-"
KEY_ALIAS_PREFIX = "u-"
BUDGET_DURATION = "1mo"  # calendar month, reset at midnight on the 1st in litellm_settings.timezone
BUDGET_TZ = ZoneInfo("Asia/Kolkata")  # gateway/config.yaml litellm_settings.timezone: budgets and expiries


@dataclass(frozen=True)
class Model:
    alias: str
    display_name: str
    bedrock_model_id: str


@dataclass(frozen=True)
class Tier:
    key: str
    display_name: str
    monthly_budget_usd: Decimal
    rpm_limit: int
    models: tuple[str, ...]
    max_exception_usd: Decimal | None = None  # cap on a user's budget_exception.extra_usd; None: not allowed
    max_request_usd: Decimal | None = None  # stated overshoot bound: the most one request can cost
    key_max_age_days: int | None = None  # scheduled rotation (reconciler/rotation.py); None: never
    key_rotation_overlap_days: int = 7  # how long the previous key keeps working after a rotation
    alerts: tuple[int, ...] = ()  # % of a member's monthly budget at which they and their owner are told

    @property
    def team_id(self) -> str:
        return TEAM_PREFIX + self.key


@dataclass(frozen=True)
class BudgetException:
    """A time-boxed budget increase granted through a PR, ending with the day `until`."""

    extra_usd: Decimal
    until: dt.date
    ticket: str


@dataclass(frozen=True)
class User:
    id: str
    name: str
    email: str
    tier: str
    owner: str
    cost_center: str
    justification: str
    expires: dt.date | None
    source: str  # file the grant came from, for messages and audit
    budget_exception: BudgetException | None = None

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
