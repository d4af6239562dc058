"""Fixtures of the media worker's tests: the worker running in a harness."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from examples.media_worker import MediaWorker
from svckit.storage import forget_memory_storage
from svckit.testing import ServiceHarness
from tests.examples.media_worker._support import StartWorker, worker_settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from examples.media_worker.notifications import Notifier
    from examples.media_worker.pool import ImagePool


@pytest.fixture
async def start_worker() -> AsyncIterator[StartWorker]:
    """``await start_worker(notifier=..., images=..., **settings)``: a worker in a harness."""
    started: list[ServiceHarness[MediaWorker]] = []

    async def start(
        *, notifier: Notifier | None = None, images: ImagePool | None = None, **overrides: Any
    ) -> ServiceHarness[MediaWorker]:
        worker = MediaWorker(worker_settings(**overrides), notifier=notifier)
        if images is not None:
            worker.images = images
        harness = ServiceHarness(worker)
        await harness.__aenter__()
        started.append(harness)
        return harness

    yield start
    for harness in reversed(started):
        await harness.__aexit__(None, None, None)
        url = harness.service.settings.storage_url.get_secret_value()
        if url.startswith("memory://"):
            forget_memory_storage(url)
