"""A pool that runs Pillow off the event loop, held by the worker as a resource.

Processes by default. Pillow releases the GIL for most of its decoding, resizing and
encoding, but not for all of it (Python code runs between the chunks its JPEG encoder
writes), and the event loop has to win the GIL back each time it wakes. Measured with
``bench/thumbnail.py`` (8 12-megapixel JPEGs through the consumer, two workers, on a
shared two-core machine): with threads the loop stalled 34 to 43 ms (median of the
rounds; up to 108 ms), with niced processes 7 to 8 ms (at worst 20 ms). An image that
crashes a decoder takes down one pool process, not the service. The price: each
original and its outputs are copied through a pipe, the processes start with the
service, and a batch took about a quarter longer on the loaded machine.

Threads (``MEDIA_IMAGE_EXECUTOR=thread``) suit small images and tests: no start-up, no
copies.

No pool process outlives the service, in any phase: each is handed the service's pid when
it starts, exits at once if that is no longer its parent (the service was killed while
the pool started), asks Linux to kill it when its parent dies (``PR_SET_PDEATHSIG``),
and, where that is not available, a thread checks every second.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Literal, Self, TypeVar

from svckit.core.errors import LifecycleError
from svckit.core.health import Health
from svckit.core.logging import get_logger

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

__all__ = ["ExecutorKind", "ImagePool", "PoolCrashed"]

T = TypeVar("T")

ExecutorKind = Literal["thread", "process"]

_log = get_logger(__name__)

#: Seconds between a pool process's checks that the service is still alive.
_PARENT_CHECK_INTERVAL = 1.0
#: prctl(2): the signal a process receives when its parent dies.
_PR_SET_PDEATHSIG = 1


class PoolCrashed(Exception):  # noqa: N818 - named for what happened
    """A pool process died while it ran a job (a crash, or killed for its memory).

    The pool has been replaced by a new one; the job may be tried again.
    """


class ImagePool:
    """A process or thread pool as a resource: started with the service, shut down after.

    Example:
        ```python
        async with ImagePool(workers=2) as pool:
            result = await pool.run(process_image, data, options)
        ```

    Attributes:
        name: The resource's name in health reports.
        workers: How many images are processed at once at most.
        kind: ``"process"`` or ``"thread"``.
    """

    name = "images"

    def __init__(self, workers: int, kind: ExecutorKind = "process", *, niceness: int = 10) -> None:
        """Describe the pool; it starts when entered.

        Args:
            workers: How many images are processed at once at most.
            kind: ``"process"`` or ``"thread"``.
            niceness: Added to the pool processes' nice value, so that the kernel runs
                the event loop first when both want a CPU (processes only).
        """
        if workers < 1:
            raise ValueError("an image pool needs at least one worker")
        self.workers = workers
        self.kind = kind
        self.niceness = niceness
        self._executor: Executor | None = None
        self._replacing = asyncio.Lock()

    async def __aenter__(self) -> Self:
        """Start the pool; a process pool starts its processes now, not on first use."""
        self._executor = await self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Drop queued work and wait, off the loop, for the images being processed."""
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)

    async def health(self) -> Health:
        """Up while the pool runs."""
        if self._executor is None:
            return Health.down("the image pool is not running")
        return Health.up(f"{self.workers} {self.kind} worker(s)")

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """Run ``func(*args)`` in the pool and return its result.

        ``func`` and its arguments must be picklable for a process pool (a module-level
        function, plain data).

        Raises:
            LifecycleError: The pool is not running.
            PoolCrashed: A pool process died during the job; the pool was replaced.
        """
        executor = self._executor
        if executor is None:
            raise LifecycleError("the image pool is not running; open it first")
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, func, *args)
        except BrokenProcessPool as exc:
            await self._replace(executor)
            raise PoolCrashed("a pool process died while processing an image") from exc

    async def _start(self) -> Executor:
        if self.kind == "thread":
            return ThreadPoolExecutor(self.workers, thread_name_prefix="images")
        # spawn, not fork: forking a process that runs threads and an event loop can copy
        # a lock held by another thread into the child.
        executor = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_pool_process_setup,
            # The service's pid, read here: a process that read its parent's pid itself
            # could read it after the service was killed, and watch the wrong process.
            initargs=(self.niceness, os.getpid()),
        )
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(executor, _ready) for _ in range(self.workers)))
        return executor

    async def _replace(self, broken: Executor) -> None:
        async with self._replacing:
            if self._executor is not broken:
                return  # another job's failure replaced it already, or the pool closed
            _log.error("an image pool process died; starting a new pool")
            broken.shutdown(wait=False, cancel_futures=True)
            self._executor = await self._start()


def _ready() -> bool:
    return True


def _pool_process_setup(niceness: int, service_pid: int) -> None:
    # Image work can wait a few milliseconds; the messages and health checks the event
    # loop serves should not.
    os.nice(niceness)
    # Ctrl-C reaches the whole process group. The service drains its jobs and then shuts
    # the pool down; a pool process that died on the signal would fail them instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Nor may a pool process outlive a service that was killed outright. From now on the
    # kernel kills it with its parent (Linux); the check after covers a service that died
    # before that, while this process started.
    _die_with_parent()
    if os.getppid() != service_pid:
        os._exit(1)
    threading.Thread(target=_exit_with, args=(service_pid,), daemon=True).start()


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies; elsewhere, do nothing.

    The parent here is the thread that started the process (the event loop's), which is
    the service's main thread under ``svckit run``.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the watching thread is enough
        return


def _exit_with(service_pid: int) -> None:
    while os.getppid() == service_pid:
        time.sleep(_PARENT_CHECK_INTERVAL)
    os._exit(1)
