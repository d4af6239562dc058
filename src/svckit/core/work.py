"""In-flight work: what a service is doing, so that shutdown can wait for it.

A part of a service that takes work in (a consumer, an HTTP server, a bot's polling) is
an `Intake`. On shutdown the service first tells every intake to stop taking work, then
lets each drain what it holds under one deadline; what is still running then is cut off
(cancelled), and the intake gives it back (a message returns to the broker).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from svckit.core.logging import get_logger

if TYPE_CHECKING:
    from collections.abc import Coroutine

__all__ = ["CUT_OFF_GRACE", "DrainReport", "InFlight", "Intake"]

_log = get_logger("svckit.work")

#: Seconds that cut-off work may take to clean up (give its message back) once cancelled.
CUT_OFF_GRACE = 5.0


@dataclass(frozen=True, slots=True)
class DrainReport:
    """What a drain finished and what it cut off at the deadline."""

    drained: int = 0
    cut_off: int = 0

    def __add__(self, other: DrainReport) -> DrainReport:
        """Add up the reports of several intakes."""
        return DrainReport(self.drained + other.drained, self.cut_off + other.cut_off)


@runtime_checkable
class Intake(Protocol):
    """A part of a service that takes work in: a consumer, an HTTP server, a bot's polling."""

    name: str

    async def start(self) -> None:
        """Begin taking work; return once the intake is ready."""
        ...

    async def stop(self) -> None:
        """Stop taking new work; work already taken goes on. Safe to call twice."""
        ...

    async def drain(self, timeout: float) -> DrainReport:
        """Wait up to ``timeout`` seconds for work in progress, then cut off the rest."""
        ...


class InFlight:
    """Work in flight, in tasks, that can be waited for or drained under a deadline.

    A unit of work is a whole task (`spawn`, `adopt`), or a stretch of one between `begin`
    and `end`, for a task that does several units one after another (a transport that
    runs deliveries one at a time in a few tasks, for example).

    Example:
        ```python
        work = InFlight()
        work.spawn(handle(message))
        report = await work.drain(timeout=30)
        ```
    """

    __slots__ = ("_finished", "_idle", "_tasks")

    def __init__(self) -> None:
        """Start with nothing in flight."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._finished = 0
        self._idle: asyncio.Event | None = None

    def __len__(self) -> int:
        """How many units of work are running."""
        return len(self._tasks)

    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, name: str | None = None
    ) -> asyncio.Task[Any]:
        """Run ``coro`` as a tracked task.

        The task's own errors are its business: handle them inside ``coro``. One that
        escapes is retrieved here so that asyncio does not report it as never retrieved.
        """
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.adopt(task)
        return task

    def adopt(self, task: asyncio.Task[Any]) -> None:
        """Track a task created elsewhere, until it is done."""
        self._add(task)
        task.add_done_callback(self._task_done)

    def begin(self) -> asyncio.Task[Any]:
        """Track the current task's work from now until `end`; return the task."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("InFlight.begin() must be called from a task")
        self._add(task)
        return task

    def end(self, task: asyncio.Task[Any]) -> None:
        """The work `begin` started in ``task`` is over (finished, failed or cut off)."""
        self._tasks.discard(task)
        self._finished += 1
        if not self._tasks and self._idle is not None:
            self._idle.set()

    def _add(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        if self._idle is not None:
            self._idle.clear()

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled():
            task.exception()
        self.end(task)

    async def wait_idle(self) -> None:
        """Return once no work is running.

        Work that begins while this waits (even in the loop turn where the last unit
        ended) is waited for too.
        """
        while self._tasks:
            if self._idle is None:
                self._idle = asyncio.Event()
            await self._idle.wait()

    async def drain(self, timeout: float, *, grace: float = CUT_OFF_GRACE) -> DrainReport:
        """Wait up to ``timeout`` seconds for the running work, then cancel the rest.

        Returns how many units of work finished meanwhile and how many were cut off.
        Cut-off tasks are awaited for up to ``grace`` seconds, so their clean-up (giving a
        message back) is done when this returns; one that ignores its cancellation is
        left behind with a warning rather than holding the shutdown forever. Cancelling
        the drain itself cuts the work off the same way, then raises.
        """
        if not self._tasks:
            return DrainReport()
        finished = self._finished
        try:
            async with asyncio.timeout(max(timeout, 0)):
                await self.wait_idle()
        except TimeoutError:
            drained = self._finished - finished
            return DrainReport(drained=drained, cut_off=await self._cut_off(grace))
        except asyncio.CancelledError:
            await self._cut_off(grace)
            raise
        return DrainReport(drained=self._finished - finished)

    async def _cut_off(self, grace: float) -> int:
        pending = list(self._tasks)
        for task in pending:
            task.cancel()
        if pending:
            _, stuck = await asyncio.wait(pending, timeout=grace)
            if stuck:
                _log.warning(
                    "cut-off work did not end within its grace period; leaving it behind",
                    tasks=len(stuck),
                    grace_s=grace,
                )
        return len(pending)
