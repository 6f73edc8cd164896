"""The README is one page for the adopter of a 100-user gateway (issue #20): the two set-up commands,
first deploy and daily use, and links. What it used to prove lives in docs/, and every pointer to it
must still land: relative links in the Markdown files resolve (file and anchor), and a pointer such as
`docs/architecture.md "Budgets under concurrency"` in code, comments or docs names a section that exists."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
README_MAX_BYTES = 8 * 1024

# Build output, virtualenvs and vendored packages: not the project's text.
_SKIP_DIRS = {".git", "node_modules", "__pycache__", ".terraform", ".pytest_cache", ".ruff_cache", ".hypothesis",
              ".gatewayctl", "build"}
_TEXT_SUFFIXES = {".md", ".py", ".tf", ".hcl", ".yaml", ".yml", ".sh", ".toml", ".json", ".txt", ""}


def _project_files() -> list[Path]:
    found = []
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.startswith(".venv") and not d.endswith(".egg-info")]
        found += [Path(root) / f for f in files]
    return sorted(found)


def _markdown_files() -> list[Path]:
    return [p for p in _project_files() if p.suffix == ".md"]


def _without_code_blocks(text: str) -> str:
    """The text outside fenced code blocks (a link or heading inside one is an example, not one)."""
    kept, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        kept.append("" if fenced else line)
    return "\n".join(kept)


def _headings(path: Path) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", _without_code_blocks(path.read_text()),
                                                   re.MULTILINE)]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: link text kept, lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    text = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors, seen = set(), {}
    for heading in _headings(path):
        slug = _slug(heading)
        anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _relative_links(path: Path) -> list[str]:
    links = _LINK.findall(_without_code_blocks(path.read_text()))
    return [t for t in links if not re.match(r"[a-z][a-z0-9+.-]*:", t)]  # not https:, mailto:, ...


def test_readme_fits_on_one_page():
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; move detail to docs/ (at most {README_MAX_BYTES})"


def test_readme_holds_exactly_the_two_set_up_commands():
    """A newcomer copies one block: `make demo` and `make test`, both real Makefile targets."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", README.read_text(), re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, "README.md: one code block, the two set-up commands; commands for later go to docs/"
    commands = [line.split("#")[0].strip() for line in blocks[0].splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    makefile = (REPO / "Makefile").read_text()
    for target in ("demo", "test"):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"Makefile has no `{target}` target"


def test_readme_leads_to_first_deploy_and_daily_use():
    text = README.read_text()
    headings = _headings(README)
    assert {"First deploy", "Daily use", "Links"} <= set(headings), headings
    for link in ("docs/runbook.md#first-deploy-from-an-empty-account", "docs/runbook.md#add-a-user",
                 "docs/runbook.md#change-a-tier", "docs/using-the-gateway.md", "docs/security.md",
                 "docs/architecture.md", "docs/performance.md"):
        assert f"]({link}" in text, f"README.md must link to {link}"


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(path: Path):
    broken = []
    for link in _relative_links(path):
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        if not file.exists():
            broken.append(f"{link}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{link}: no heading with anchor #{anchor} in {file.relative_to(REPO)}")
    assert not broken, f"{path.relative_to(REPO)}: " + "; ".join(broken)


# `docs/runbook.md, "First deploy"`, `docs/architecture.md "Budgets under concurrency"`, `README "Safety"`: a
# file, then (after a comma, a parenthesis, spaces, or a line break inside a comment) a section name in quotes.
_SECTION_POINTER = re.compile(r"\b((?:docs/[\w./-]+\.md)|README(?:\.md)?)(?:[,(\s]|#|//)+\"([^\"\n]+)\"")


def _names_a_section(doc: Path, name: str) -> bool:
    """A heading that starts with the name (after a number such as `2.`), or a bold label `**name**`."""
    numbered = re.compile(r"^(?:\d+[a-z]?\.\s+)?" + re.escape(name))
    return any(numbered.match(h) for h in _headings(doc)) or f"**{name}" in doc.read_text()


def test_section_pointers_name_a_section_that_exists():
    """A guarantee moved out of the README keeps the pointers to it working: every `<doc> "<section>"` in the
    project's files (CHANGELOG.md excepted: history) names a heading or bold label of that document."""
    dangling = []
    for path in _project_files():
        if path.name == "CHANGELOG.md" or path.suffix not in _TEXT_SUFFIXES or path == Path(__file__):
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for match in _SECTION_POINTER.finditer(text):
            doc_name, section = match.groups()
            doc = REPO / ("README.md" if doc_name.startswith("README") else doc_name)
            if doc.suffix == ".md" and doc.exists() and not _names_a_section(doc, section):
                line = text.count("\n", 0, match.start()) + 1
                dangling.append(f"{path.relative_to(REPO)}:{line}: {doc_name} has no section \"{section}\"")
    assert not dangling, "\n".join(dangling)


def test_section_pointer_check_catches_a_moved_section():
    """The check above is not vacuous: the pointer this issue moved fails against the README it left."""
    assert not _names_a_section(README, "Budgets under concurrency")
    assert _names_a_section(REPO / "docs" / "architecture.md", "Budgets under concurrency")
    assert _names_a_section(REPO / "docs" / "runbook.md", "Repository settings")  # a bold label in a step
    assert _SECTION_POINTER.search('# (max_request_usd, docs/architecture.md\n  # "Budgets under concurrency")')


def test_tests_named_as_proof_exist():
    """A guarantee in README.md or docs/ names the test that shows it; that test file must exist (a test that
    is merged or removed takes its pointers along)."""
    docs = [README, *sorted((REPO / "docs").rglob("*.md"))]
    missing = [f"{doc.relative_to(REPO)}: {name}" for doc in docs
               for name in sorted(set(re.findall(r"\btests/[\w./-]+\.py\b", doc.read_text())))
               if not (REPO / name).is_file()]
    assert not missing, "\n".join(missing)
