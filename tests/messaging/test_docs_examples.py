"""Every messaging example the docs show runs and asserts what it shows.

The scripts are imported and their ``main(bus_url)`` awaited here, each on an embedded
broker of its own; the pytest module of the testing how-to runs under pytest, the way a
reader runs it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import os
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
ALL = sorted(path.name for path in EXAMPLES.glob("messaging_*.py"))
PYTEST_MODULES = [name for name in ALL if name.endswith("_test.py")]
SCRIPTS = [name for name in ALL if name not in PYTEST_MODULES]
DEADLINE = 45.0


def test_the_examples_are_found() -> None:
    # A rename or a moved folder must not turn the tests below into no tests at all.
    assert {"messaging_messages.py", "messaging_retries.py", "messaging_dlq_cli.py"} <= set(SCRIPTS)
    assert PYTEST_MODULES == ["messaging_memory_broker_test.py"]


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No SVCKIT_* variable and no .env file decide anything for an example."""
    for key in list(os.environ):
        if key.startswith("SVCKIT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def load() -> Iterator[list[str]]:
    """Names of example modules put in sys.modules, removed after the test."""
    loaded: list[str] = []
    yield loaded
    for name in loaded:
        sys.modules.pop(name, None)


def import_example(name: str, loaded: list[str]) -> ModuleType:
    module_name = f"docs_example_{Path(name).stem}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / name)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered while it runs, as an imported module is: pydantic and the service's
    # settings annotation resolve names through sys.modules.
    sys.modules[module_name] = module
    loaded.append(module_name)
    spec.loader.exec_module(module)
    return module


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize("name", SCRIPTS)
async def test_example_main_runs_and_its_assertions_hold(name: str, load: list[str]) -> None:
    module = import_example(name, load)
    main = module.main
    assert "bus_url" in inspect.signature(main).parameters, "main(bus_url) keeps runs apart"

    async with asyncio.timeout(DEADLINE):
        await main(bus_url=f"memory://docs-{uuid.uuid4().hex}")


@pytest.mark.parametrize("name", PYTEST_MODULES)
async def test_example_test_module_passes_under_pytest(name: str, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SVCKIT_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # keep the examples folder free of __pycache__
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--basetemp",
        str(tmp_path / "pytest"),
        name,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=EXAMPLES,
        env=env,
    )
    async with asyncio.timeout(DEADLINE):
        output, _ = await process.communicate()

    text = output.decode()
    assert process.returncode == 0, text
    assert " passed" in text
    assert "skipped" not in text
    assert "failed" not in text
