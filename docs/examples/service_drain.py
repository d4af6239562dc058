"""Graceful shutdown: work in flight drains under a deadline; what is left is cut off."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from svckit import DrainReport, InFlight, Service, ServiceSettings

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Sequence

    from svckit import Intake


# --8<-- [start:intake]
class JobQueue:
    """An intake that runs each job from a queue as a tracked task."""

    name = "jobs"

    def __init__(self, handle: Callable[[float], Coroutine[None, None, None]]) -> None:
        self.handle = handle
        self.queue: asyncio.Queue[float] = asyncio.Queue()
        self.work = InFlight()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            seconds = await self.queue.get()
            self.work.spawn(self.handle(seconds))

    async def stop(self) -> None:
        # Take no new job; the jobs already running go on.
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def drain(self, timeout: float) -> DrainReport:
        return await self.work.drain(timeout)


# --8<-- [end:intake]


# --8<-- [start:service]
class Reports(Service):
    """Makes reports; each takes some seconds."""

    def __init__(self, settings: ServiceSettings | None = None) -> None:
        super().__init__(settings)
        self.jobs = JobQueue(self.make_report)
        self.started = asyncio.Semaphore(0)

    def intakes(self) -> Sequence[Intake]:
        return [*super().intakes(), self.jobs]

    async def make_report(self, seconds: float) -> None:
        self.started.release()
        await asyncio.sleep(seconds)  # stands for real work


async def main() -> None:
    # SVCKIT_SHUTDOWN_TIMEOUT sets this from the environment.
    service = Reports(ServiceSettings(service_name="reports", shutdown_timeout=0.5))
    async with service:
        service.jobs.queue.put_nowait(0.05)  # finishes within the deadline
        service.jobs.queue.put_nowait(3600)  # does not
        for _ in range(2):
            await service.started.acquire()  # both jobs are running now
        report = await service.shutdown()

    print(report)
    assert report == DrainReport(drained=1, cut_off=1)


asyncio.run(main())
# --8<-- [end:service]
