"""A small evaluator of AWS policies, for exactly what the key-secret policies use (moto evaluates none of
them): Allow/Deny statements with Action/NotAction, Resource, Principal ("*" or AWS ARNs, an account's
root meaning every principal of that account, as in a KMS key policy), and the condition operators
String(Not)Equals, String(Not)Like, Arn(Not)Equals, Arn(Not)Like and Null, with ${...} policy variables.

Semantics as AWS documents them (IAM User Guide, "Policy evaluation logic" and "Condition operators"):
- a key missing from the request makes a condition false, except for negated operators (true) and Null;
- several values of one key: any of them (OR); of a negated operator: none of them (NOR);
- operators, and keys within one operator, all hold (AND); condition key names ignore case;
- a policy variable whose key is missing makes its condition not match (statement does not apply);
- in one account, any explicit Deny wins; else an Allow in an identity or the resource policy allows.
  KMS differs: the key policy must allow, itself or by naming the account root (which delegates to IAM).
tests/test_iam_eval.py checks each rule on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}
SUPPORTED = NEGATED | {"StringEquals", "StringLike", "ArnEquals", "ArnLike", "Null"}


class Unresolved(Exception):
    """A policy variable names a key the request does not carry."""


@dataclass(frozen=True)
class Request:
    principal_arn: str
    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)  # condition keys besides aws:PrincipalArn

    def value(self, key: str) -> str | None:
        keys = {"aws:principalarn": self.principal_arn, **{k.lower(): v for k, v in self.context.items()}}
        return keys.get(key.lower())


def _listed(x) -> list:
    return x if isinstance(x, list) else [x]


def _wildcard(pattern: str) -> re.Pattern:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.S)


def _substitute(text: str, request: Request) -> str:
    def one(m: re.Match) -> str:
        value = request.value(m[1])
        if value is None:
            raise Unresolved(m[1])
        return value

    return re.sub(r"\$\{([^}]+)\}", one, text)


def _arn_like(pattern: str, value: str) -> bool:
    # Each of the six colon-separated parts is matched on its own (the last may contain colons).
    p, v = pattern.split(":", 5), value.split(":", 5)
    return len(p) == len(v) == 6 and all(_wildcard(a).fullmatch(b) for a, b in zip(p, v, strict=True))


def _match(op: str, pattern: str, value: str) -> bool:
    base = op.replace("Not", "")
    if base == "StringEquals":
        return pattern == value
    if base == "StringLike":
        return bool(_wildcard(pattern).fullmatch(value))
    return _arn_like(pattern, value)  # ArnEquals and ArnLike match alike in AWS


def condition_holds(condition: dict, request: Request) -> bool:
    for op, keys in condition.items():
        if op not in SUPPORTED:
            raise ValueError(f"operator {op} is not supported by this evaluator")
        for key, wanted in keys.items():
            value = request.value(key)
            if op == "Null":
                if str(wanted).lower() != str(value is None).lower():
                    return False
                continue
            if value is None:
                if op in NEGATED:
                    continue
                return False
            try:
                hits = [_match(op, _substitute(w, request), value) for w in _listed(wanted)]
            except Unresolved:
                return False
            if (any(hits) if op not in NEGATED else not any(hits)) is False:
                return False
    return True


def _account_of(arn: str) -> str:
    return arn.split(":")[4]


def _principal_matches(principal, request: Request) -> bool:
    if principal == "*":
        return True
    arns = _listed(principal.get("AWS", [])) if isinstance(principal, dict) else []
    for arn in arns:
        if arn == "*" or arn == request.principal_arn:
            return True
        if arn.endswith(":root") and _account_of(arn) == _account_of(request.principal_arn):
            return True
    return False


def statement_applies(st: dict, request: Request, *, resource_policy: bool) -> bool:
    if resource_policy and not _principal_matches(st.get("Principal"), request):
        return False
    if "Action" in st:
        if not any(_wildcard(a.lower()).fullmatch(request.action.lower()) for a in _listed(st["Action"])):
            return False
    elif any(_wildcard(a.lower()).fullmatch(request.action.lower()) for a in _listed(st["NotAction"])):
        return False
    if not any(_wildcard(r).fullmatch(request.resource) for r in _listed(st.get("Resource", "*"))):
        return False
    return condition_holds(st.get("Condition", {}), request)


def _effects(policy: dict | None, request: Request, *, resource_policy: bool) -> set[str]:
    return {st["Effect"] for st in _listed((policy or {}).get("Statement", []))
            if statement_applies(st, request, resource_policy=resource_policy)}


def allowed(request: Request, *, identity: list[dict], resource: dict | None = None) -> bool:
    """Same-account access to a resource with an optional resource policy (Secrets Manager)."""
    effects = set().union(*(_effects(p, request, resource_policy=False) for p in identity),
                          _effects(resource, request, resource_policy=True))
    return "Deny" not in effects and "Allow" in effects


def kms_allowed(request: Request, *, identity: list[dict], key_policy: dict) -> bool:
    """A KMS call: the key policy must allow, the principal directly or the account root (then IAM must too)."""
    if "Deny" in set().union(*(_effects(p, request, resource_policy=False) for p in identity),
                             _effects(key_policy, request, resource_policy=True)):
        return False
    root = f"arn:{request.principal_arn.split(':')[1]}:iam::{_account_of(request.principal_arn)}:root"
    named: set[str] = set()
    for st in _listed(key_policy["Statement"]):
        if st["Effect"] == "Allow" and statement_applies(st, request, resource_policy=True):
            principal = st["Principal"]
            named |= {"*"} if principal == "*" else set(_listed(principal.get("AWS", [])))
    if request.principal_arn in named or "*" in named:
        return True
    return root in named and any("Allow" in _effects(p, request, resource_policy=False) for p in identity)
