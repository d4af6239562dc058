"""The database inbox: a consumer's "processed" mark in the handler's own transaction.

For a consumer with ``idempotent=True, inbox="database"``, each delivery runs as::

    BEGIN
    INSERT INTO svckit_inbox (consumer, message_id, processed_at) ... ON CONFLICT DO NOTHING
    -- no row inserted: the message was processed already; roll back, acknowledge, skip
    ... the handler's own statements, through its ``session`` ...
    COMMIT                                  -- then the message is acknowledged

so the handler's database effects and the mark commit together or not at all. A crash
before the commit rolls both back and the redelivery runs again; a crash after the
commit and before the acknowledgement finds the mark and skips. A duplicate delivered
while the first is still running waits on the row's key (PostgreSQL) or on SQLite's
write lock, and then finds the mark.

Rows older than the consumer's ``idempotency_ttl`` are swept in bounded batches by a
task that runs while the service does.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from svckit.core.logging import get_logger
from svckit.core.work import DrainReport
from svckit.db._tables import inbox_table

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from svckit.db.database import Database
    from svckit.messaging._consume import Consumer

_log = get_logger("svckit.db.inbox")

#: Seconds between two sweeps (jittered by a fifth, so processes spread out).
SWEEP_INTERVAL = 300.0
#: Rows deleted by one statement, and statements in one sweep of one consumer.
SWEEP_BATCH = 1000
SWEEP_BATCHES = 20
_KEY_LIMIT = 255


class DatabaseInbox:
    """The inbox of a service's database-inbox consumers; also the intake that sweeps it.

    Attributes:
        name: ``"database-inbox"``, its name among the service's intakes.
        retained: Each consumer's name and how many seconds its rows are kept.
    """

    name = "database-inbox"

    def __init__(self, database: Database, *, sweep_interval: float = SWEEP_INTERVAL) -> None:
        """Keep the marks in ``database``'s ``svckit_inbox`` table."""
        self._db = database
        self._sweep_interval = sweep_interval
        self.retained: dict[str, float] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def retain_for(self, consumers: Iterable[Consumer]) -> None:
        """Sweep the rows of those ``consumers`` that use this inbox, after their TTL."""
        for consumer in consumers:
            spec = consumer.handler.spec
            if spec.idempotent and spec.inbox == "database":
                self.retained[consumer.name] = spec.idempotency_ttl

    @contextlib.asynccontextmanager
    async def processing(self, consumer: str, message_id: str) -> AsyncIterator[bool]:
        """Open a transaction that marks ``message_id`` processed; see `TransactionalInbox`."""
        async with self._db.transaction() as session:
            insert = postgresql_insert if self._db.backend == "postgresql" else sqlite_insert
            statement = (
                insert(inbox_table)
                .values(
                    consumer=consumer,
                    message_id=_key(message_id),
                    processed_at=datetime.now(UTC),
                )
                .on_conflict_do_nothing()
            )
            result = await session.execute(statement)
            new = bool(result.rowcount)  # type: ignore[attr-defined]
            yield new
            if not new:
                # Nothing of this transaction may commit: the handler did not run.
                await session.rollback()

    async def sweep(self, consumer: str, older_than: float) -> int:
        """Delete ``consumer``'s rows older than ``older_than`` seconds, in bounded batches.

        Returns:
            How many rows were deleted.
        """
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
        table = inbox_table
        deleted = 0
        for _ in range(SWEEP_BATCHES):
            batch = (
                select(table.c.message_id)
                .where(table.c.consumer == consumer, table.c.processed_at < cutoff)
                .limit(SWEEP_BATCH)
            )
            statement = delete(table).where(
                table.c.consumer == consumer, table.c.message_id.in_(batch)
            )
            async with self._db.transaction() as session:
                result = await session.execute(statement)
            count = int(result.rowcount)  # type: ignore[attr-defined]
            deleted += count
            if count < SWEEP_BATCH:
                break
        return deleted

    # ------------------------------------------------------------------ intake

    async def start(self) -> None:
        """Start sweeping in the background."""
        if self._sweeper is None and self.retained:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def stop(self) -> None:
        """Stop sweeping (a sweep cut off rolls back; the next run does it)."""
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    async def drain(self, timeout: float) -> DrainReport:  # noqa: ARG002 - nothing in flight
        """Nothing to drain: the sweeper holds no work that another process would miss."""
        return DrainReport()

    async def _sweep_forever(self) -> None:
        while True:
            for consumer, ttl in self.retained.items():
                try:
                    deleted = await self.sweep(consumer, ttl)
                except Exception:  # noqa: BLE001 - tried again at the next sweep
                    _log.warning("could not sweep the database inbox", exc_info=True)
                    continue
                if deleted:
                    _log.info("database inbox swept", consumer=consumer, deleted=deleted)
            jitter = random.uniform(0.8, 1.2)  # noqa: S311 - spreading, not security
            await asyncio.sleep(self._sweep_interval * jitter)


def _key(message_id: str) -> str:
    # Message ids come from the wire: one too long for the column is stored as its digest.
    if len(message_id) <= _KEY_LIMIT:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()
