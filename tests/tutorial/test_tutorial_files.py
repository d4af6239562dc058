"""The two pages show every file of the tutorial's repository and every command section."""

from __future__ import annotations

import re

from tests.tutorial._support import ROOT, TUTORIAL

PAGES = [
    ROOT / "docs" / "tutorial" / "first-worker.md",
    ROOT / "docs" / "how-to" / "scaling-out.md",
]
INCLUDE = re.compile(r'^--8<-- "docs/examples/tutorial/([^":]+)(?::([^"]+))?"$', re.MULTILINE)
#: svckit's own lint settings for the folder: not part of the reader's repository.
NOT_SHOWN = {"ruff.toml"}
#: Folders that tools write; git ignores them.
CACHES = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}


def shown() -> set[tuple[str, str]]:
    """(file, section) pairs the pages include; the section is "" for a whole file."""
    found: set[tuple[str, str]] = set()
    for page in PAGES:
        for path, section in INCLUDE.findall(page.read_text(encoding="utf-8")):
            found.add((path, section))
    return found


def test_every_file_of_the_repository_is_shown() -> None:
    files = {
        path.relative_to(TUTORIAL).as_posix()
        for path in TUTORIAL.rglob("*")
        if path.is_file() and not CACHES & set(path.parts)
    }

    assert files - NOT_SHOWN == {path for path, _ in shown()}


def test_every_command_section_is_shown_and_every_shown_section_exists() -> None:
    pairs = shown()
    for script in ("tutorial.sh", "scaling.sh"):
        text = (TUTORIAL / script).read_text(encoding="utf-8")
        sections = set(re.findall(r"^# --8<-- \[start:([^\]]+)\]$", text, re.MULTILINE))
        assert sections == {section for path, section in pairs if path == script}, script
    for path, section in pairs:
        if section:
            text = (TUTORIAL / path).read_text(encoding="utf-8")
            assert f"# --8<-- [start:{section}]" in text, (path, section)
            assert f"# --8<-- [end:{section}]" in text, (path, section)
