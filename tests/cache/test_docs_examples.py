"""The caching docs' code: every example file runs, and every snippet the pages include exists."""

from __future__ import annotations

import re
import runpy
import uuid
from pathlib import Path

import pytest

from svckit import ServiceSettings
from svckit.cache import Cache

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
PAGES = [
    ROOT / "docs" / "concepts" / "caching.md",
    ROOT / "docs" / "how-to" / "cache-invalidation.md",
]
REDIS_URL = "redis://127.0.0.1:6379/0"

backends = pytest.mark.parametrize(
    "url",
    [
        pytest.param("memory://", id="memory"),
        pytest.param(REDIS_URL, id="redis", marks=pytest.mark.redis),
    ],
)


@backends
@pytest.mark.parametrize("name", ["cache_basics.py", "cache_invalidation.py"])
async def test_an_example_runs(name: str, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    namespace = f"docs-{uuid.uuid4().hex[:8]}"
    example = runpy.run_path(str(EXAMPLES / name), run_name="docs_example")
    try:
        await example["main"](url, namespace)
    finally:
        async with Cache.from_url(url, namespace=namespace) as cache:
            await cache.clear()
    assert capsys.readouterr().out.endswith(": ok\n")


async def test_the_decorator_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    example = runpy.run_path(str(EXAMPLES / "cache_decorator.py"), run_name="docs_example")
    await example["main"]()
    assert capsys.readouterr().out == "cached decorator: ok\n"


@backends
async def test_the_service_example_runs(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    settings = ServiceSettings(service_name=f"docs-{uuid.uuid4().hex[:8]}", cache_url=url)
    example = runpy.run_path(str(EXAMPLES / "cache_service.py"), run_name="docs_example")
    try:
        await example["main"](settings)
    finally:
        async with Cache.from_url(url, namespace=settings.service_name) as cache:
            await cache.clear()
    assert capsys.readouterr().out.endswith("cache service: ok\n")


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_the_snippets_a_page_includes_exist(page: Path) -> None:
    included = re.findall(r'--8<-- "([^"]+)"', page.read_text(encoding="utf-8"))
    assert included, f"{page.name} includes no example"
    for reference in included:
        path, _, section = reference.partition(":")
        assert (ROOT / path).is_file(), reference
        if section:
            text = (ROOT / path).read_text(encoding="utf-8")
            assert f"# --8<-- [start:{section}]" in text, reference
            assert f"# --8<-- [end:{section}]" in text, reference
