"""Importing svckit stays light: what a kind does not need is never loaded.

Each check runs in a fresh interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

# The adapters' libraries: each belongs to one extra and loads only in its adapter module.
HEAVY = ["aio_pika", "aiogram", "fastapi", "PIL", "redis", "sqlalchemy"]


def loaded_after(statement: str) -> set[str]:
    """The top-level packages in ``sys.modules`` after running ``statement`` in a new Python."""
    script = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(  # noqa: S603 - runs this interpreter on a fixed script
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=50,
    )
    return {name.partition(".")[0] for name in json.loads(result.stdout)}


def test_import_svckit_loads_no_adapter_library() -> None:
    loaded = loaded_after("import svckit")

    assert loaded.isdisjoint(HEAVY), sorted(loaded.intersection(HEAVY))


def test_import_svckit_leaves_even_the_core_dependencies_for_later() -> None:
    # The top-level names are lazy: settings, retry and tracing load on first use.
    loaded = loaded_after("import svckit")

    for module in ("pydantic_settings", "tenacity", "opentelemetry"):
        assert module not in loaded


def test_using_a_core_name_loads_what_it_needs_and_no_adapter() -> None:
    loaded = loaded_after("import svckit\nsvckit.ServiceSettings()\nsvckit.RetryPolicy()")

    assert "pydantic_settings" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded.intersection(HEAVY))


def test_import_svckit_worker_loads_neither_the_bot_nor_the_api() -> None:
    spec = importlib.util.find_spec("svckit.worker")
    if spec is None or spec.origin is None:
        pytest.skip("svckit.worker does not exist yet")

    loaded = loaded_after("import svckit.worker")

    assert "aiogram" not in loaded
    assert "fastapi" not in loaded


def test_import_svckit_bot_loads_neither_the_api_nor_the_worker_transport() -> None:
    loaded = loaded_after("import svckit.bot")

    assert "aiogram" in loaded
    assert loaded.isdisjoint({"fastapi", "aio_pika", "sqlalchemy", "PIL"})
