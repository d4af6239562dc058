"""A worker for the inbox kill test: ``svckit run tests.db._inbox_worker:Applier``.

Each job inserts one row into ``effects`` through the database inbox, then works a while:
a SIGKILL there finds the effect written and not committed. After the commit, the ack
waits as long again: a SIGKILL there finds the effect and the mark committed and the
message not acknowledged. Every call is also counted in ``calls``, committed on its own,
so the test sees that killed work ran again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from svckit.messaging import Event, consumer
from svckit.worker import WorkerService

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncSession

    from svckit.messaging.idempotency import TransactionalInbox

TOPIC = "inboxkill.job"
metadata = sa.MetaData()
effects = sa.Table(
    "effects",
    metadata,
    sa.Column("n", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("seq", sa.Integer, nullable=False),
)
calls = sa.Table(
    "calls",
    metadata,
    sa.Column("n", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("seq", sa.Integer, nullable=False),
)
WORK = float(os.environ.get("INBOX_KILL_WORK", "0.05"))


class Job(Event, topic=TOPIC):
    seq: int


class SlowAck:
    """Widens the window between the inbox's commit and the broker's acknowledgement."""

    def __init__(self, inbox: TransactionalInbox) -> None:
        self.inbox = inbox

    @contextlib.asynccontextmanager
    async def processing(self, consumer: str, message_id: str) -> AsyncIterator[bool]:
        async with self.inbox.processing(consumer, message_id) as new:
            yield new
        if new:
            await asyncio.sleep(WORK)  # committed, not yet acknowledged


class Applier(WorkerService):
    uses_database = True
    metadata = metadata

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for each in self.bus.consumers:
            each._database_inbox = SlowAck(each._database_inbox)  # type: ignore[arg-type]

    # Many kills redeliver the same messages: the broker must not give up on them.
    @consumer(TOPIC, idempotent=True, inbox="database", prefetch=8, delivery_limit=1000)
    async def apply(self, job: Job, *, session: AsyncSession) -> None:
        async with self.db.session() as own:  # outside the handler's transaction
            await own.execute(sa.insert(calls).values(seq=job.seq))
            await own.commit()
        await session.execute(sa.insert(effects).values(seq=job.seq))
        await asyncio.sleep(WORK)  # the effect is written, not committed, not acked
