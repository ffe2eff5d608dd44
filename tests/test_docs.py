"""The README and docs/ as a reader meets them: links that resolve, blocks that parse, the reference the code cites.

Every relative link (file or ``#anchor``, anchors as GitHub makes them from headings) must land;
every ``bash``/``sh`` block must pass ``bash -n``, every ``python`` block ``ast.parse``, every
``json`` block ``json.loads``; every ``amojo-api.md §N`` cited anywhere in the project must be a
section of the vendored reference.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]
REFERENCE = ROOT / "docs" / "amojo-api.md"

FENCE = re.compile(r"^(```+|~~~+)([^\n`]*)\n(.*?)^\1[ \t]*$", flags=re.S | re.M)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def prose(text: str) -> str:
    """The text without fenced blocks and code spans (a link or heading inside code is not one)."""
    text = FENCE.sub("", text)
    return re.sub(r"(`+)(?:(?!\1).)+\1", "", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"[`*_]", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = set()
    for match in re.finditer(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", FENCE.sub("", path.read_text(encoding="utf-8")), flags=re.M):
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(path.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: — not ours to check offline
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif not resolved.is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading makes #{anchor}")
    return broken


def blocks(path: Path) -> list[tuple[str, str]]:
    return [(match.group(2).strip(), match.group(3)) for match in FENCE.finditer(path.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("path", PAGES, ids=_name)
def test_every_relative_link_resolves(path: Path) -> None:
    assert broken_links(path) == []


def test_a_dead_link_or_anchor_is_reported(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Durable state: `--db`\n\n## Same\n\n## Same\n", encoding="utf-8")
    page.write_text(
        "[a](other.md#durable-state---db) [b](other.md#same-1) [c](missing.md) [d](other.md#nope) "
        "[e](https://example.com/x) `[f](in-code.md)`\n",
        encoding="utf-8",
    )
    links = LINK.findall(prose(page.read_text(encoding="utf-8")))
    assert links == ["other.md#durable-state---db", "other.md#same-1", "missing.md", "other.md#nope", "https://example.com/x"]
    found = [
        target
        for target in links[:4]
        if not (tmp_path / target.partition("#")[0]).exists() or target.partition("#")[2] not in anchors(tmp_path / "other.md")
    ]
    assert found == ["missing.md", "other.md#nope"]


@pytest.mark.parametrize("path", PAGES, ids=_name)
def test_every_command_and_code_block_parses(path: Path) -> None:
    for language, code in blocks(path):
        if language in ("bash", "sh", "shell"):
            checked = subprocess.run(["bash", "-n"], input=code, capture_output=True, text=True, check=False)
            assert checked.returncode == 0, f"{_name(path)}: a {language} block does not parse: {checked.stderr}\n{code}"
        elif language == "python":
            ast.parse(code, filename=f"{_name(path)} (a python block)")
        elif language == "json":
            json.loads(code)


@pytest.mark.parametrize("path", PAGES, ids=_name)
def test_no_table_is_split_by_a_blank_line(path: Path) -> None:
    lines = [*prose(path.read_text(encoding="utf-8")).splitlines(), ""]

    def new_table(n: int) -> bool:  # a header row followed by its |---| row
        return re.fullmatch(r"\|[\s:|-]+\|?", lines[n + 1].strip()) is not None

    splits = [
        n
        for n in range(1, len(lines) - 2)
        if not lines[n].strip() and lines[n - 1].startswith("|") and lines[n + 1].startswith("|") and not new_table(n + 1)
    ]
    assert splits == [], f"{_name(path)}: a blank line splits a table after line(s) {splits}"


def test_the_readme_stays_short() -> None:
    assert len(README.read_bytes()) <= 15 * 1024


def test_the_quick_start_is_what_ci_runs() -> None:
    readme = README.read_text(encoding="utf-8")
    quick_start = readme[readme.index("## Quick start") :]
    commands = [line for line in blocks_in(quick_start[: quick_start.index("\n## ", 1)]) if line and not line.startswith("#")]
    assert len(commands) == 2, commands
    install_and_serve, install_and_test = commands
    assert install_and_serve.endswith("mock-amojo serve")
    assert install_and_test in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def blocks_in(text: str) -> list[str]:
    return [line.strip() for match in FENCE.finditer(text) for line in match.group(3).splitlines()]


def test_no_page_tells_to_install_from_a_package_index() -> None:
    # mock-amojo is not published: "pip install mock-amojo" fails for a reader.
    offenders = [_name(path) for path in PAGES if re.search(r"pip install (-U )?['\"]?mock[-_]amojo\b", path.read_text(encoding="utf-8"))]
    assert offenders == []


def cited_sections() -> dict[str, set[str]]:
    """Every ``amojo-api.md §N[, §M…]`` in the project's code, schemas, tests and docs, by section."""
    cited: dict[str, set[str]] = {}
    folders = ["mock_amojo", "schemas", "contract_tests", "tests", "examples", "fixtures", "docs"]
    files = [README] + [path for folder in folders for path in (ROOT / folder).rglob("*") if path.suffix in (".py", ".json", ".md")]
    for path in files:
        if path == REFERENCE:
            continue
        for match in re.finditer(r"amojo-api\.md[`\])]*\s*((?:§\s?\d+(?:\.\d+)*(?:[,–-]\s*)?)+)", path.read_text(encoding="utf-8")):
            for section in re.findall(r"\d+(?:\.\d+)*", match.group(1)):
                cited.setdefault(section, set()).add(_name(path))
    return cited


def test_every_cited_section_of_the_api_reference_is_in_the_repository() -> None:
    headings = re.findall(r"^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s", REFERENCE.read_text(encoding="utf-8"), flags=re.M)
    cited = cited_sections()
    assert len(cited) >= 10, cited  # the pattern still finds the citations
    missing = {section: sorted(where) for section, where in cited.items() if section not in headings}
    assert missing == {}
