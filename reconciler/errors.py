"""What gatewayctl's exit status means, and the one base class of the failures it expects.

An expected failure (invalid input, an option that makes no sense, a gateway that refuses or cannot
be reached, a busy lock, git or AWS saying no) is a GatewayctlError: the CLI prints
`error: <message>` and exits 1, never with a traceback. Any other exception is a bug in gatewayctl
and surfaces with its traceback.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator

EXIT_OK = 0  # done; no changes (plan and drift with --detailed-exitcode)
EXIT_ERROR = 1  # an expected failure, or invalid input
EXIT_CHANGES = 2  # changes pending (plan and drift with --detailed-exitcode)
EXIT_REFUSED = 3  # refused by a safety limit
EXIT_INTERRUPTED = 130  # Ctrl-C


REDACTED = "…(redacted)"
# What must never be printed or recorded, whoever wrote the text (the gateway, a proxy in front of it,
# AWS): a LiteLLM key ("sk-" and a token, not inside a word), a bearer token, and the value next to a
# name that says it is a secret (JSON, a header, a query string, YAML).
_SECRETS = (
    (re.compile(r"(?<![\w-])sk-[\w-]{8,}"), REDACTED),
    (re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+"), r"\1 " + REDACTED),
    (re.compile(r"(?i)([\w-]*(?:api[_-]?key|master[_-]?key|secret|password|token|authorization)[\w-]*[\"']?"
                r"\s*[:=]\s*[\"']?)(?!bearer\b)[^\s\"',;&}]+"), r"\1" + REDACTED),
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every key-shaped value hidden, and each of `secrets` (values known to be secret,
    such as the master key, whatever they look like)."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class GatewayctlError(Exception):
    """A failure gatewayctl expects; its message says what to do about it. The message is redacted
    when the failure is made: it is printed, and recorded in the audit log and the apply journal."""

    exit_code = EXIT_ERROR

    def __init__(self, *args) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


class UsageError(GatewayctlError, ValueError):
    """An option or setting that cannot work (a ValueError too, for callers that check values)."""


@contextlib.contextmanager
def expected_io(what: str) -> Iterator[None]:
    """Turn an OSError (a missing file, a full disk, no permission) while doing `what` into an
    expected failure that names it."""
    try:
        yield
    except OSError as exc:
        raise GatewayctlError(f"{what}: {exc.strerror or exc}") from exc
