"""What the reconciler writes and the employee reads: one module, imported by both sides.

A user's key lives in the Secrets Manager secret <DEFAULT_PREFIX><user id>, tagged OWNER_TAG=<user id>.
The employee-key-access policy (terraform/modules/employee-key-access) lets a session read a secret's
value and its description (tags included) only when that tag equals the session's own `gitops_user_id`
tag, so whatever is written into the secret's tags is readable by its owner alone, under the same ABAC
as the key. The nightly job (`gatewayctl publish-usage`, reconciler/selfservice/publish.py) writes each
member's month there: the USAGE_TAGS below."""

from __future__ import annotations

DEFAULT_PREFIX = "llm-gateway/users/"
OWNER_TAG = "gitops_user_id"

USAGE_TAG_PREFIX = "gatewayctl:me:"
TIER_TAG = USAGE_TAG_PREFIX + "tier"  # the tier's display name
MODELS_TAG = USAGE_TAG_PREFIX + "models"  # the tier's models, space-separated
SPEND_TAG = USAGE_TAG_PREFIX + "spend-usd"  # spend this budget window, as LiteLLM counts it (a decimal)
BUDGET_TAG = USAGE_TAG_PREFIX + "budget-usd"  # the budget LiteLLM enforces this window (exceptions included)
RESETS_TAG = USAGE_TAG_PREFIX + "budget-resets-at"  # ISO 8601 with the Asia/Kolkata offset
ROTATES_TAG = USAGE_TAG_PREFIX + "key-rotates-on"  # YYYY-MM-DD the nightly job rotates the key, or "never"
AS_OF_TAG = USAGE_TAG_PREFIX + "as-of"  # ISO 8601 UTC: when the nightly job read the numbers
USAGE_TAGS = (TIER_TAG, MODELS_TAG, SPEND_TAG, BUDGET_TAG, RESETS_TAG, ROTATES_TAG, AS_OF_TAG)
NEVER = "never"
