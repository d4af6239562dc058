"""The image pool: processes by default, a crashed process replaced, threads on request."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from examples.media_worker.imaging import InvalidImage, process_image
from examples.media_worker.messages import FailureCode, MediaProcessed
from examples.media_worker.pool import ImagePool, PoolCrashed
from examples.media_worker.storage import MediaState, submit
from svckit import LifecycleError
from tests.examples.media_worker._crash import die, double, niceness, stop_signals_ignored
from tests.examples.media_worker._images import jpeg

if TYPE_CHECKING:
    from tests.examples.media_worker._support import StartWorker


async def test_a_process_pool_returns_results_and_the_images_own_errors() -> None:
    async with ImagePool(workers=1) as pool:
        assert pool.kind == "process"
        result = await pool.run(process_image, jpeg((64, 48)))
        assert (result.metadata.width, result.metadata.height) == (64, 48)
        with pytest.raises(InvalidImage) as caught:
            await pool.run(process_image, b"not an image")
        assert caught.value.code is FailureCode.NOT_AN_IMAGE


async def test_a_crashed_pool_process_is_replaced() -> None:
    async with ImagePool(workers=1) as pool:
        with pytest.raises(PoolCrashed):
            await pool.run(die)
        assert await pool.run(double, 21) == 42
        assert (await pool.health()).status == "up"


async def test_pool_processes_leave_ctrl_c_and_sigterm_to_the_service() -> None:
    async with ImagePool(workers=1) as pool:
        assert await pool.run(stop_signals_ignored)


async def test_pool_processes_run_at_a_lower_priority_than_the_service() -> None:
    async with ImagePool(workers=1, niceness=5) as pool:
        assert await pool.run(niceness) == min(os.nice(0) + 5, 19)


async def test_a_closed_pool_refuses_work() -> None:
    pool = ImagePool(workers=1, kind="thread")
    with pytest.raises(LifecycleError, match="not running"):
        await pool.run(double, 1)
    async with pool:
        assert await pool.run(double, 2) == 4
    assert (await pool.health()).status == "down"


async def test_the_worker_processes_images_in_its_process_pool(start_worker: StartWorker) -> None:
    harness = await start_worker(image_executor="process", image_workers=1)
    worker = harness.service
    assert worker.images.kind == "process"
    good = await submit(worker.store, worker.bus, jpeg((320, 200)))
    bad = await submit(worker.store, worker.bus, b"plain text")
    await harness.wait_idle()
    done, failed = await worker.store.status(good), await worker.store.status(bad)
    assert done is not None
    assert done.state is MediaState.DONE
    assert failed is not None
    assert (failed.state, failed.code) == (MediaState.FAILED, FailureCode.NOT_AN_IMAGE)
    assert [event.media_id for event in harness.published(MediaProcessed)] == [good]
