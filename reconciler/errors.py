"""What gatewayctl's exit status means, and the one base class of the failures it expects.

An expected failure (invalid input, an option that makes no sense, a gateway that refuses or cannot
be reached, a busy lock, git or AWS saying no) is a GatewayctlError: the CLI prints
`error: <message>` and exits 1, never with a traceback. Any other exception is a bug in gatewayctl
and surfaces with its traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

EXIT_OK = 0  # done; no changes (plan and drift with --detailed-exitcode)
EXIT_ERROR = 1  # an expected failure, or invalid input
EXIT_CHANGES = 2  # changes pending (plan and drift with --detailed-exitcode)
EXIT_REFUSED = 3  # refused by a safety limit
EXIT_INTERRUPTED = 130  # Ctrl-C


class GatewayctlError(Exception):
    """A failure gatewayctl expects; its message says what to do about it."""

    exit_code = EXIT_ERROR


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
