"""The docs pages: code comes from example files, and the settings table matches the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from svckit import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
INCLUDE = re.compile(r'^--8<-- "([^"]+)"$')


def includes(page: Path) -> list[str]:
    """The files (with an optional ``:section``) that the page's code blocks include."""
    found = []
    for block in FENCE.findall(page.read_text(encoding="utf-8")):
        for line in block.strip().splitlines():
            match = INCLUDE.match(line.strip())
            assert match, f"{page.relative_to(ROOT)}: a code block holds code, not a file:\n{block}"
            found.append(match.group(1))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(DOCS)))
def test_every_code_block_includes_an_example_file(page: Path) -> None:
    for target in includes(page):
        path, _, section = target.partition(":")
        assert path.startswith("docs/examples/"), target
        text = (ROOT / path).read_text(encoding="utf-8")
        if section:
            assert f"# --8<-- [start:{section}]" in text, target
            assert f"# --8<-- [end:{section}]" in text, target


def test_every_example_file_is_shown_by_a_page() -> None:
    shown = {target.partition(":")[0] for page in PAGES for target in includes(page)}
    examples = {f"docs/examples/{path.name}" for path in (DOCS / "examples").glob("*.py")}

    assert examples - shown == set()


def test_changelog_page_includes_the_changelog() -> None:
    assert (DOCS / "changelog.md").read_text(encoding="utf-8").strip() == '--8<-- "CHANGELOG.md"'
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_configuration_table_lists_every_base_setting() -> None:
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    rows = {}
    for line in page.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith("`SVCKIT_"):
            rows[cells[0].strip("`")] = (cells[1].strip("`"), cells[2].strip("`"))

    settings = ServiceSettings()
    expected = {}
    for name in ServiceSettings.model_fields:
        value = getattr(settings, name)
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        expected[name] = (settings.env_name(name), str(value))
    assert rows == expected
