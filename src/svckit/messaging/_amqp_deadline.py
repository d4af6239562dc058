"""A deadline for publishes, kept by one watcher instead of a timer per publish.

A publish caught in a dead connection's full send buffer would wait for ever. A timer
per publish (``asyncio.timeout``) costs about 7 us, a large share of a publish; here a
publish only records when it started, and a watcher that wakes once a second cancels
the ones past the deadline, which then raise `TimeoutError` (a connection error that the
transport retries on the new connection).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable

__all__ = ["PublishDeadline"]


class PublishDeadline:
    """Cancels publishes that take longer than ``seconds``; `run` is the guarded await."""

    def __init__(self, seconds: float, *, check_every: float = 1.0) -> None:
        """Give each publish ``seconds``, checked every ``check_every`` seconds."""
        self.seconds = seconds
        self.check_every = check_every
        self._started: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._watcher: asyncio.Task[None] | None = None

    async def run(self, publish: Awaitable[Any]) -> Any:
        """Await ``publish``; raise `TimeoutError` if it outlives the deadline."""
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - always called from a task
            return await publish
        loop = asyncio.get_running_loop()
        self._started[task] = loop.time()
        if self._watcher is None or self._watcher.done():
            self._watcher = loop.create_task(self._watch())
        try:
            return await publish
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            # Our own cancellation: take it back and say what happened instead, unless
            # someone else cancelled the task too.
            if task.uncancel() > 0:
                raise
            raise TimeoutError(f"the publish took longer than {self.seconds}s") from None
        finally:
            self._started.pop(task, None)
            self._expired.discard(task)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while self._started:
            await asyncio.sleep(self.check_every)
            now = loop.time()
            for task, started in list(self._started.items()):
                if now - started > self.seconds and task not in self._expired:
                    self._expired.add(task)
                    task.cancel()

    async def close(self) -> None:
        """Stop the watcher."""
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
