"""Generate the reference part of every Terraform module's README: its usage example, inputs and outputs.

    python tools/terraform_module_docs.py           # rewrite the generated parts of terraform/modules/*/README.md
    python tools/terraform_module_docs.py --check   # exit 1 and name every README that is out of date

A module's README.md is prose written by hand (what the module does and why) followed by two
generated sections, each between its marker comments:

- Usage: the module's first example root (examples/<name>/main.tf), which tests/terraform validates;
  for a module without examples, the module block of the root or module in this repository that
  calls it, so the usage shown is always one that runs.
- Inputs and outputs: every variable (description, type, default, whether required) and output
  (description), read from variables.tf and outputs.tf.

The .tf files must be `terraform fmt`-formatted (CI checks that): blocks open at the start of a line
and close with a lone "}". No third-party HCL parser is needed for that shape.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODULES = REPO / "terraform" / "modules"
CALLER_ROOTS = [REPO / "terraform" / "environments", REPO / "terraform" / "bootstrap", MODULES]

USAGE_BEGIN, USAGE_END = "<!-- BEGIN_USAGE -->", "<!-- END_USAGE -->"
DOCS_BEGIN, DOCS_END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"

BLOCK_RE = re.compile(r'^(variable|output|module)\s+"([^"]+)"\s*\{\s*$')
ATTR_RE = re.compile(r"^  ([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


@dataclass
class Variable:
    name: str
    description: str
    type: str
    default: str | None  # HCL source of the default, None when the variable is required


@dataclass
class Output:
    name: str
    description: str


def blocks(path: Path, kind: str) -> list[tuple[str, list[str], int]]:
    """(label, body lines, line number) of every top-level `kind "label" {` block of a file."""
    found: list[tuple[str, list[str], int]] = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = BLOCK_RE.match(lines[i])
        if m and m.group(1) == kind:
            start = i
            i += 1
            body = []
            while i < len(lines) and lines[i] != "}":
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise ValueError(f"{path}:{start + 1}: {kind} {m.group(2)!r} has no closing '}}' on a line of its own")
            found.append((m.group(2), body, start + 1))
        i += 1
    return found


def attributes(body: list[str]) -> dict[str, str]:
    """The block's own attributes (two-space indent) with their HCL source; nested blocks are skipped."""
    attrs: dict[str, str] = {}
    i = 0
    while i < len(body):
        m = ATTR_RE.match(body[i])
        if not m:
            i += 1
            continue
        name, value = m.group(1), [m.group(2)]
        i += 1
        heredoc = re.match(r"<<-?([A-Z]+)$", value[0])
        while i < len(body):
            line = body[i]
            if heredoc:
                value.append(line)
                i += 1
                if line.strip() == heredoc.group(1):
                    break
                continue
            indent = len(line) - len(line.lstrip())
            if line.strip() and (indent > 2 or (indent == 2 and line.strip()[0] in "}])")):
                value.append(line)
                i += 1
            else:
                break
        attrs[name] = "\n".join(value)
    return attrs


def string_value(source: str, where: str) -> str:
    """A quoted or heredoc string as text."""
    if source.startswith('"'):
        return json.loads(source)
    heredoc = re.match(r"<<(-?)([A-Z]+)\n(.*)\n\s*\2$", source, re.S)
    if heredoc:
        lines = heredoc.group(3).splitlines()
        if heredoc.group(1):
            indent = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
            lines = [x[indent:] for x in lines]
        return " ".join(x.strip() for x in lines if x.strip())
    raise ValueError(f"{where}: description must be a string literal")


def read_variables(module: Path) -> list[Variable]:
    path = module / "variables.tf"
    out = []
    for name, body, line in blocks(path, "variable") if path.exists() else []:
        attrs = attributes(body)
        where = f"{path.relative_to(REPO)}:{line}"
        if "description" not in attrs:
            raise ValueError(f"{where}: variable {name!r} has no description")
        if "type" not in attrs:
            raise ValueError(f"{where}: variable {name!r} has no type")
        out.append(Variable(name, string_value(attrs["description"], where), attrs["type"], attrs.get("default")))
    return out


def read_outputs(module: Path) -> list[Output]:
    path = module / "outputs.tf"
    out = []
    for name, body, line in blocks(path, "output") if path.exists() else []:
        attrs = attributes(body)
        where = f"{path.relative_to(REPO)}:{line}"
        if "description" not in attrs:
            raise ValueError(f"{where}: output {name!r} has no description")
        out.append(Output(name, string_value(attrs["description"], where)))
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _prose(text: str) -> str:
    """A description in a table cell: <placeholders> shown, not taken for HTML."""
    return _cell(text).replace("<", "&lt;").replace(">", "&gt;")


def _code(source: str) -> str:
    """An HCL expression on one line: object attributes and list items joined with commas."""
    parts = [line.strip() for line in source.splitlines() if line.strip()]
    flat = parts[0]
    for part in parts[1:]:
        if flat.endswith(("(", "[", "{")) or part.startswith((")", "]", "}")):
            sep = ""
        elif flat.endswith(","):
            sep = " "
        else:
            sep = ", "
        flat += sep + part
    flat = re.sub(r",\s*([\]})])", r"\1", re.sub(r"\s+=\s+", " = ", flat))
    return f"`{_cell(flat)}`"


def reference(module: Path) -> str:
    lines = ["## Inputs", ""]
    variables = read_variables(module)
    if variables:
        lines += ["| Name | Description | Type | Default | Required |", "|---|---|---|---|:---:|"]
        for v in variables:
            default = "n/a" if v.default is None else _code(v.default)
            lines.append(f"| `{v.name}` | {_prose(v.description)} | {_code(v.type)} | {default} | "
                         f"{'yes' if v.default is None else 'no'} |")
    else:
        lines.append("No inputs.")
    lines += ["", "## Outputs", ""]
    outputs = read_outputs(module)
    if outputs:
        lines += ["| Name | Description |", "|---|---|"]
        lines += [f"| `{o.name}` | {_prose(o.description)} |" for o in outputs]
    else:
        lines.append("No outputs.")
    return "\n".join(lines)


def examples(module: Path) -> list[Path]:
    return sorted(p.parent for p in (module / "examples").glob("*/main.tf"))


def callers(module: Path) -> list[tuple[Path, str, list[str]]]:
    """(file, module label, block lines) of every module block in this repository whose source is `module`."""
    found = []
    for root in CALLER_ROOTS:
        for tf in sorted(root.rglob("*.tf")):
            if ".terraform" in tf.parts or "examples" in tf.relative_to(REPO).parts:
                continue
            for label, body, _ in blocks(tf, "module"):
                source = attributes(body).get("source", "")
                if source.startswith('"') and (tf.parent / json.loads(source)).resolve() == module.resolve():
                    found.append((tf, label, body))
    return found


def usage(module: Path) -> str:
    ex = examples(module)
    if ex:
        main = ex[0] / "main.tf"
        rel = main.relative_to(module).as_posix()
        text = main.read_text().splitlines()
        comment = [line for line in text[: next(i for i, x in enumerate(text) if not x.startswith("#"))]]
        calls = ["\n".join([f'module "{label}" {{', *body, "}"]) for label, body, _ in blocks(main, "module")]
        return (f"The module blocks of [`{rel}`]({rel}), a root that `tests/terraform` initialises and validates:\n\n"
                "```hcl\n" + "\n".join(comment) + "\n" + "\n\n".join(calls) + "\n```")
    calls = callers(module)
    if not calls:
        raise ValueError(f"{module.relative_to(REPO)}: no examples/ and no caller in this repository to show as usage")
    tf, label, body = calls[0]
    rel = tf.relative_to(REPO).as_posix()
    return (f"As `{rel}` calls it (source relative to that file):\n\n"
            + "```hcl\n" + "\n".join([f'module "{label}" {{', *body, "}"]) + "\n```")


def render(readme: str, module: Path) -> str:
    for begin, end, body in ((USAGE_BEGIN, USAGE_END, usage(module)), (DOCS_BEGIN, DOCS_END, reference(module))):
        if begin not in readme or end not in readme:
            raise ValueError(f"{(module / 'README.md').relative_to(REPO)}: missing {begin} ... {end}")
        head, rest = readme.split(begin, 1)
        _, tail = rest.split(end, 1)
        readme = f"{head}{begin}\n{body}\n{end}{tail}"
    return readme


def modules() -> list[Path]:
    return sorted(p for p in MODULES.iterdir() if (p / "main.tf").is_file())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a README is missing or out of date")
    args = ap.parse_args(argv)
    problems = []
    for module in modules():
        path = module / "README.md"
        rel = path.relative_to(REPO)
        if not path.exists():
            problems.append(f"{rel}: missing (write the module's description, then the two marker pairs)")
            continue
        current = path.read_text()
        try:
            wanted = render(current, module)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if wanted != current:
            if args.check:
                problems.append(f"{rel}: out of date; run python tools/terraform_module_docs.py")
            else:
                path.write_text(wanted)
                print(f"updated {rel}")
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
