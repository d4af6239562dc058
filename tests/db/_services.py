"""Services with a database for the tests: effects recorded in a table of their own."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import sqlalchemy as sa

from svckit.core.retry import RetryPolicy
from svckit.messaging import Event, consumer
from svckit.worker import WorkerService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

metadata = sa.MetaData()
effects = sa.Table(
    "effects",
    metadata,
    sa.Column("n", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("seq", sa.Integer, nullable=False),
)

FAST_RETRY = RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.02)


class Job(Event, topic="dbtest.job"):
    seq: int
    fail_first: bool = False
    cancel: bool = False


class Recorder(WorkerService):
    """Applies each job as a row in ``effects``, through the database inbox."""

    uses_database = True
    metadata = metadata

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.calls = 0
        self.failed: set[int] = set()
        self.gate: asyncio.Event | None = None

    @consumer(idempotent=True, inbox="database", retry=FAST_RETRY)
    async def apply(self, job: Job, *, session: AsyncSession) -> None:
        self.calls += 1
        await session.execute(sa.insert(effects).values(seq=job.seq))
        if self.gate is not None:
            await self.gate.wait()
        if job.cancel:
            # A future of its own, cancelled by something else: not a shutdown.
            future = asyncio.get_running_loop().create_future()
            future.cancel()
            await future
        if job.fail_first and job.seq not in self.failed:
            self.failed.add(job.seq)
            raise RuntimeError("the first try fails after its effect")


async def applied(service: WorkerService) -> list[int]:
    """The seqs of the effects that committed, in order."""
    async with service.db.transaction() as session:
        result = await session.execute(sa.select(effects.c.seq).order_by(effects.c.seq))
        return list(result.scalars())


async def marks(service: WorkerService) -> int:
    async with service.db.transaction() as session:
        result = await session.execute(sa.text("SELECT count(*) FROM svckit_inbox"))
        return int(result.scalar_one())
