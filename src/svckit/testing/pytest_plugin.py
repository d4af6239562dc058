"""The svckit pytest plugin: the ``svckit_harness`` fixture.

Installed with svckit (an entry point in the ``pytest11`` group), so a test only asks for
the fixture::

    async def test_notifications(svckit_harness) -> None:
        harness = await svckit_harness(Notifications)
        await harness.publish(UserCreated(user_id=1, email="ada@example.com"))
        await harness.wait_idle()

The fixture is asynchronous: it needs pytest-asyncio (or another plugin that runs async
fixtures) in the project's test dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from svckit.testing.harness import HarnessFactory, ServiceHarness

F = TypeVar("F")

try:
    import pytest_asyncio

    _fixture: Any = pytest_asyncio.fixture
except ImportError:  # pragma: no cover - exercised only without pytest-asyncio
    _fixture = pytest.fixture


def _async_fixture(func: F) -> F:
    result: F = _fixture(func)
    return result


@_async_fixture
async def svckit_harness() -> AsyncIterator[HarnessFactory]:
    """Start services in harnesses; each is shut down when the test ends."""
    from svckit.testing.harness import ServiceHarness  # noqa: PLC0415 - keep pytest start light

    started: list[ServiceHarness[Any]] = []

    async def start(service: Any, /, **overrides: Any) -> Any:
        harness = ServiceHarness(service, **overrides)
        await harness.__aenter__()
        started.append(harness)
        return harness

    yield start
    for harness in reversed(started):
        await harness.__aexit__(None, None, None)
