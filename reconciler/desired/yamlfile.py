"""Strict YAML loading that remembers where every value came from.

Policy files are small, so the loader is deliberately unforgiving: one document, no
duplicate keys, no anchors or aliases (so no alias bombs), bounded size and depth, and
floats read as exact decimals (2.00 stays Decimal("2.00")). Every failure becomes a
Diagnostic pointing at a line and column, never an exception with a stack trace.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from reconciler.desired.diagnostics import Diagnostic, InputError

MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 32
MAX_NODES = 20_000

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_resolver = yaml.resolver.Resolver()

Location = tuple[int, int]
JsonPath = tuple[str | int, ...]


@dataclass
class Document:
    """A parsed YAML file: plain data plus the (line, col) of every node by JSON path."""

    path: str
    data: Any
    positions: dict[JsonPath, Location] = field(default_factory=dict)
    key_positions: dict[JsonPath, Location] = field(default_factory=dict)  # where a mapping key is written

    def where(self, json_path: JsonPath) -> Location:
        """Line and column of the deepest existing node on `json_path` (1-based)."""
        p = tuple(json_path)
        while p not in self.positions and p:
            p = p[:-1]
        return self.positions.get(p, (1, 1))

    def diag(self, json_path: JsonPath, message: str, rule: str, *, at_key: bool = False,
             severity: str = "error") -> Diagnostic:
        """A diagnostic at the node on `json_path`, or at its key when `at_key` (a mapping key is the error)."""
        key = self.key_positions.get(tuple(json_path)) if at_key else None
        line, col = key or self.where(json_path)
        return Diagnostic(self.path, line, col, message, rule, severity)


def _mark(node: yaml.Node) -> Location:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, path: str):
        self.path = path
        self.positions: dict[JsonPath, Location] = {}
        self.key_positions: dict[JsonPath, Location] = {}
        self.seen: set[int] = set()
        self.count = 0

    def fail(self, node: yaml.Node, message: str, rule: str) -> InputError:
        line, col = _mark(node)
        return InputError([Diagnostic(self.path, line, col, message, rule)])

    def build(self, node: yaml.Node, path: JsonPath, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(node, f"document has more than {MAX_NODES} nodes", "yaml-too-large")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels", "yaml-too-deep")
        if id(node) in self.seen:  # an alias: the same node object reached twice
            line, col = self.positions.get(path, _mark(node))
            raise InputError([Diagnostic(self.path, line, col, "anchors and aliases are not allowed in policy files",
                                         "yaml-alias")])
        self.seen.add(id(node))
        self.positions[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise self.fail(node, f"unsupported YAML tag {node.tag}", "yaml-tag")
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise self.fail(key_node, "merge keys (<<) are not allowed", "yaml-alias")
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                    raise self.fail(key_node, "mapping keys must be plain strings", "yaml-key")
                key = key_node.value
                if key in out:
                    line, _ = self.positions[(*path, key)]
                    raise self.fail(key_node, f"duplicate key {key!r} (first defined on line {line})",
                                    "yaml-duplicate-key")
                self.positions[(*path, key)] = self.key_positions[(*path, key)] = _mark(key_node)
                out[key] = self.build(value_node, (*path, key), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise self.fail(node, f"unsupported YAML tag {node.tag}", "yaml-tag")
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node: yaml.ScalarNode) -> Any:
        tag, text = node.tag, node.value
        if tag == "tag:yaml.org,2002:str":
            return text
        if tag == "tag:yaml.org,2002:null":
            return None
        if tag == "tag:yaml.org,2002:bool":
            return text.lower() in ("true", "yes", "on")
        if tag == "tag:yaml.org,2002:int":
            if len(text) > 40:
                raise self.fail(node, "number is too large", "yaml-number")
            try:
                return int(text.replace("_", ""), 0)
            except ValueError:
                return yaml.safe_load(text)  # YAML 1.1 forms such as 0o17 or 1:20
        if tag == "tag:yaml.org,2002:float":
            try:
                value = Decimal(text.replace("_", ""))
            except InvalidOperation:
                raise self.fail(node, f"{text!r} is not a finite number", "yaml-number") from None
            if not value.is_finite() or len(text) > 40:
                raise self.fail(node, f"{text!r} is not a usable number", "yaml-number")
            return value
        if tag == "tag:yaml.org,2002:timestamp":
            return text  # kept as written; JSON Schema `format: date` checks it
        raise self.fail(node, f"unsupported YAML tag {tag}", "yaml-tag")


def _decode_error(path: str, raw: bytes, exc: UnicodeDecodeError) -> Diagnostic:
    before = raw[: exc.start]
    line = before.count(b"\n") + 1
    col = exc.start - (before.rfind(b"\n") + 1) + 1
    return Diagnostic(path, line, col, f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})", "encoding")


def parse(text_or_bytes: str | bytes, path: str) -> Document:
    """Parse one YAML document. Raises InputError with located diagnostics."""
    raw = text_or_bytes.encode() if isinstance(text_or_bytes, str) else text_or_bytes
    if len(raw) > MAX_FILE_BYTES:
        raise InputError([Diagnostic(path, 1, 1, f"file is larger than {MAX_FILE_BYTES} bytes",
                                     "yaml-too-large")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([_decode_error(path, raw, exc)]) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputError([Diagnostic(path, line, 1, "file contains a NUL character", "encoding")])
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.reader.ReaderError as exc:  # a character YAML forbids, e.g. a raw control character
        before = text[: exc.position]
        line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise InputError([Diagnostic(path, line, col, f"character {char!r} is not allowed in YAML",
                                     "encoding")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError([Diagnostic(path, line, col, f"invalid YAML: {problem}", "yaml-syntax")]) from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        message = "nesting too deep" if isinstance(exc, RecursionError) else f"invalid YAML: {exc}"
        raise InputError([Diagnostic(path, 1, 1, message, "yaml-syntax")]) from None
    if len(nodes) != 1:
        raise InputError([Diagnostic(path, 1, 1, f"expected exactly one YAML document, found {len(nodes)}",
                                     "yaml-documents")])
    builder = _Builder(path)
    try:
        data = builder.build(nodes[0], (), 0)
    except RecursionError:
        raise InputError([Diagnostic(path, 1, 1, "nesting too deep", "yaml-too-deep")]) from None
    return Document(path, data, builder.positions, builder.key_positions)


def read_regular(path: Path, display: str | None = None, limit: int = MAX_FILE_BYTES) -> bytes:
    """Up to `limit` + 1 bytes of a regular file of the repository (InputError naming `display`
    otherwise). O_NOFOLLOW: a symlink is refused, never read (its target could be any file on the
    runner, and diagnostics echo what they read into PR annotations). Every file gatewayctl reads
    from a checkout comes through here."""
    shown = display or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError([Diagnostic(shown, 1, 1, "symbolic links are not allowed here; commit a regular file",
                                         "not-a-regular-file")]) from None
        raise InputError([Diagnostic(shown, 1, 1, f"cannot read file: {exc.strerror}", "io")]) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError([Diagnostic(shown, 1, 1, "not a regular file", "not-a-regular-file")])
        return _read_at_most(fd, limit + 1)
    except OSError as exc:
        raise InputError([Diagnostic(shown, 1, 1, f"cannot read file: {exc.strerror}", "io")]) from None
    finally:
        os.close(fd)


def load(path: Path, display: str | None = None) -> Document:
    """Read and parse a file; `display` is the path printed in diagnostics."""
    shown = display or str(path)
    return parse(read_regular(path, shown), shown)


def _read_at_most(fd: int, limit: int) -> bytes:
    """Up to `limit` bytes from `fd`, with plain reads (no file object: a plan reads 10,000 files)."""
    chunks, size = [], 0
    while size < limit:
        chunk = os.read(fd, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
