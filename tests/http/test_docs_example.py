"""The how-to's code: the example file runs, and every snippet the page includes exists."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "how-to" / "http-client.md"
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("http_*.py"))


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
async def test_the_example_runs(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = runpy.run_path(str(path), run_name="docs_example")
    await example["main"]()

    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "customer 7: Ada",
        "customer 8: unknown customer",
        "http client: ok",
    ]
    # The stand-in failed the first read once; the reader sees the retry in the log.
    assert "retrying http request" in captured.err


def test_the_snippets_the_page_includes_exist() -> None:
    included = re.findall(r'--8<-- "([^"]+)"', PAGE.read_text(encoding="utf-8"))
    assert included, "the page includes no example"
    for reference in included:
        path, _, section = reference.partition(":")
        assert (ROOT / path).is_file(), reference
        if section:
            text = (ROOT / path).read_text(encoding="utf-8")
            assert f"# --8<-- [start:{section}]" in text, reference
            assert f"# --8<-- [end:{section}]" in text, reference


def test_every_example_of_the_page_is_run_here() -> None:
    included = set(re.findall(r'--8<-- "docs/examples/([^":]+)', PAGE.read_text("utf-8")))
    assert included == {path.name for path in EXAMPLES}
