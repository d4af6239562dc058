"""A pool that runs Pillow off the event loop, held by the worker as a resource.

Threads by default: Pillow releases the GIL while it decodes, resizes and encodes, so
threads run image work in parallel on every core while the event loop keeps serving
messages, with no copying of the bytes and no process start-up. A process pool is there
for measurement and for plugins that hold the GIL (``MEDIA_IMAGE_EXECUTOR=process``).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Literal, Self, TypeVar

from svckit.core.errors import LifecycleError
from svckit.core.health import Health

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

__all__ = ["ExecutorKind", "ImagePool"]

T = TypeVar("T")

ExecutorKind = Literal["thread", "process"]


class ImagePool:
    """A thread or process pool as a resource: opened with the service, shut down after.

    Example:
        ```python
        async with ImagePool(workers=2) as pool:
            result = await pool.run(process_image, data, options)
        ```

    Attributes:
        name: The resource's name in health reports.
        workers: How many images are processed at once at most.
        kind: ``"thread"`` or ``"process"``.
    """

    name = "images"

    def __init__(self, workers: int, kind: ExecutorKind = "thread") -> None:
        """Describe the pool; it starts when entered."""
        if workers < 1:
            raise ValueError("an image pool needs at least one worker")
        self.workers = workers
        self.kind = kind
        self._executor: Executor | None = None

    async def __aenter__(self) -> Self:
        """Start the pool (a process pool starts its processes now, not on first use)."""
        if self.kind == "process":
            # spawn, not fork: forking a process that runs threads and an event loop can
            # copy a held lock into the child.
            executor: Executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn")
            )
            self._executor = executor
            loop = asyncio.get_running_loop()
            await asyncio.gather(
                *(loop.run_in_executor(executor, _ready) for _ in range(self.workers))
            )
        else:
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="images")
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

        Raises:
            LifecycleError: The pool is not running.
        """
        if self._executor is None:
            raise LifecycleError("the image pool is not running; open it first")
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)


def _ready() -> bool:
    return True
