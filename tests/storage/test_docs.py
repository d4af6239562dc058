"""The content store's pages: the examples run on every backend, the figures match the code."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

from svckit import ServiceSettings
from svckit.storage import DEFAULT_MAX_SIZE, MAX_KEY_LENGTH, FileStorage
from svckit.storage._memory import DEFAULT_CAPACITY
from tests.storage.conftest import REDIS_URL, _delete_redis_prefix

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"


def page(name: str) -> str:
    text = (ROOT / "docs" / name).read_text(encoding="utf-8")
    return re.sub(r"\s*\n\s*", " ", text)


@pytest.mark.parametrize(
    "backend",
    ["memory", pytest.param("redis", marks=pytest.mark.redis), "file"],
)
async def test_the_basics_example_runs(backend: str, tmp_path: Path) -> None:
    example = runpy.run_path(str(EXAMPLES / "storage_basics.py"), run_name="docs_example")
    url = {"memory": "memory://", "redis": REDIS_URL, "file": f"file://{tmp_path}"}[backend]
    try:
        await example["main"](url)
    finally:
        if backend == "redis":
            await _delete_redis_prefix("content/uploads/7/")


def test_the_concepts_page_gives_the_codes_figures() -> None:
    text = page("concepts/storage.md")
    assert DEFAULT_MAX_SIZE == 20 * 1024 * 1024
    assert ServiceSettings.model_fields["storage_max_size"].default == DEFAULT_MAX_SIZE
    assert "(the `storage_max_size` setting, 20 MiB by default)" in text
    assert DEFAULT_CAPACITY == 256 * 1024 * 1024
    assert "a full memory store (256 MiB by default)" in text
    assert f"A key is 1 to {MAX_KEY_LENGTH} ASCII characters" in text
    assert FileStorage("/x").sweep_interval == 5 * 60
    assert "(at most every five minutes, started by a put)" in text
    assert "`content/<key>`" in text
