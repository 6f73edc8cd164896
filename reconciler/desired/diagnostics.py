"""Findings about input files, and the three ways to print them (text, json, github)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from reconciler.errors import GatewayctlError


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in one file, located at the YAML node that causes it."""

    path: str
    line: int
    col: int
    message: str
    rule: str = "invalid"
    severity: str = "error"  # "error" fails validation; "warning" is reported and passes

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def text(self) -> str:
        level = "" if self.is_error else f"{self.severity}: "
        return f"{self.path}:{self.line}:{self.col}: {level}{self.message} [{self.rule}]"


class InputError(GatewayctlError):
    """Raised when input files are invalid; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("\n".join(d.text() for d in diagnostics))
        self.diagnostics = diagnostics


def _github_escape(value: str, *, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def render(diagnostics: Iterable[Diagnostic], fmt: str) -> str:
    """Render diagnostics as `text` (path:line:col: message), `json` or `github` annotations."""
    items = sorted(diagnostics)
    errors = [d for d in items if d.is_error]
    if fmt == "json":
        return json.dumps(
            {"valid": not errors, "error_count": len(errors), "warning_count": len(items) - len(errors),
             "errors": [asdict(d) for d in errors], "warnings": [asdict(d) for d in items if not d.is_error]},
            indent=2,
        )
    if fmt == "github":
        return "\n".join(
            f"::{d.severity} file={_github_escape(d.path, prop=True)},line={d.line},col={d.col},"
            f"title={_github_escape(d.rule, prop=True)}::{_github_escape(d.message)}"
            for d in items
        )
    return "\n".join(d.text() for d in items)
