"""The image pool: processes by default, a crashed process replaced, threads on request."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from examples.media_worker.imaging import InvalidImage, process_image
from examples.media_worker.messages import FailureCode, MediaProcessed
from examples.media_worker.pool import ImagePool, PoolCrashed
from examples.media_worker.storage import MediaState, submit
from svckit import LifecycleError
from tests.examples.media_worker._crash import die, double, niceness, stop_signals_ignored
from tests.examples.media_worker._images import jpeg
from tests.messaging.conftest import eventually

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.examples.media_worker._support import StartWorker

#: How long a pool process may take to notice that its service is gone.
ORPHAN_DEADLINE = 20.0


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


# ------------------------------------------------------------------ no orphans


def _exited(pid: int) -> bool:
    """Whether ``pid`` is gone, or a zombie that nobody has reaped yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] in {"Z", "X"}


def _held_pids(folder: Path) -> list[int]:
    return [int(path.name.removeprefix("pid-")) for path in folder.glob("pid-*")]


@contextlib.asynccontextmanager
async def _pool_parent(mode: str, folder: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.examples.media_worker._orphans",
        mode,
        env={**os.environ, "ORPHANS_DIR": str(folder)},
        # No pipes: the pool processes would inherit them, and waiting for the parent
        # waits for its pipes to close too.
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


def _kill_survivors(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.timeout(90)
async def test_no_pool_process_outlives_a_service_killed_while_the_pool_starts(
    tmp_path: Path,
) -> None:
    pids: list[int] = []
    try:
        async with _pool_parent("starting", tmp_path) as parent:
            await eventually(
                lambda: len(_held_pids(tmp_path)) == 2,
                timeout=ORPHAN_DEADLINE,
                message="both pool processes in their set-up",
            )
            pids = _held_pids(tmp_path)
            # The service dies while its pool processes are still in their set-up.
            parent.kill()
            await parent.wait()
        (tmp_path / "go").write_text("")

        await eventually(
            lambda: all(_exited(pid) for pid in pids),
            timeout=ORPHAN_DEADLINE,
            message="the pool processes to exit with their service",
        )
    finally:
        _kill_survivors(pids)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.timeout(90)
async def test_no_pool_process_outlives_a_service_killed_while_it_runs(tmp_path: Path) -> None:
    pids: list[int] = []
    try:
        async with _pool_parent("running", tmp_path) as parent:
            await eventually(
                (tmp_path / "pids").exists,
                timeout=ORPHAN_DEADLINE,
                message="the pool running",
            )
            pids = [int(pid) for pid in (tmp_path / "pids").read_text().split()]
            assert len(pids) == 2
            parent.kill()
            await parent.wait()

        await eventually(
            lambda: all(_exited(pid) for pid in pids),
            timeout=ORPHAN_DEADLINE,
            message="the pool processes to exit with their service",
        )
    finally:
        _kill_survivors(pids)
