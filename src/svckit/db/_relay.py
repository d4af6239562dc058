"""The outbox relay: it publishes the rows the writers committed, with confirms.

One pass (`Relay.relay_once`)::

    BEGIN; UPDATE svckit_outbox SET claimed_by = me, claimed_until = now + lease
           WHERE id IN (the oldest pending row of each key ... FOR UPDATE SKIP LOCKED)
           RETURNING ...; COMMIT
    publish every claimed row at once, each with a confirm
    BEGIN; DELETE the confirmed rows (or mark them done); reschedule or move aside the
           failed ones; COMMIT

A crash after a confirm and before the delete publishes that row again once its lease
has run out: a duplicate with the same message id, which an idempotent consumer skips.
A failure while the broker is away counts no attempt: the rows wait for it to return.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from svckit.core._redact import redact_text
from svckit.core.health import HealthStatus
from svckit.core.logging import get_logger
from svckit.db import _outbox_table as table
from svckit.db._errors import describe
from svckit.db._outbox_signals import Listener, OutboxMetrics

if TYPE_CHECKING:
    from collections.abc import Sequence

    from opentelemetry.metrics import MeterProvider
    from sqlalchemy import Row

    from svckit.core.retry import RetryPolicy
    from svckit.db.database import Database
    from svckit.messaging.transport import Transport

_log = get_logger("svckit.db.outbox")

#: The longest wait between two passes while the broker is away.
MAX_BACKOFF = 5.0
#: The shortest wait between two tries to (re)open the LISTEN connection.
RELISTEN_INTERVAL = 5.0
#: Done rows deleted by one statement, and statements in one sweep.
SWEEP_BATCH = 1000
SWEEP_BATCHES = 20


class Relay:
    """Claims, publishes and settles outbox rows; runs as a task while the outbox is open."""

    def __init__(
        self,
        database: Database,
        transport: Transport,
        *,
        name: str,
        service: str,
        retry: RetryPolicy,
        batch_size: int,
        lease: float,
        poll_interval: float,
        retention: float,
        concurrency: int,
        meter_provider: MeterProvider | None,
    ) -> None:
        """Relay ``database``'s outbox rows to ``transport`` as the relay called ``name``."""
        self._db = database
        self._transport = transport
        self.name = name
        self._retry = retry
        self._batch = batch_size
        self._lease = lease
        self._poll = poll_interval
        self._retention = retention
        self._concurrency = concurrency
        self._postgresql = database.backend == "postgresql"
        # One per pass loop: a wake-up reaches each, so that a loop that finds a key held
        # by another loop's pass in flight cannot swallow the wake-up that one needs.
        self._wakes = [asyncio.Event() for _ in range(concurrency)]
        self.pending = 0
        #: Passes finished, for tests and tools that wait for the relay to be idle.
        self.passes = 0
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._next_sweep = 0.0
        self._listener: Listener | None = None
        self._listen_at = 0.0
        self.metrics = OutboxMetrics(service, meter_provider, pending=lambda: self.pending)

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        """Whether the relay's task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start relaying in a task of its own."""
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="svckit-outbox")

    async def stop(self, timeout: float) -> None:
        """Finish the pass in flight within ``timeout`` seconds, then stop.

        A pass cut off at the deadline leaves its rows claimed; their lease runs out and
        a relay publishes them again (with the same message ids).
        """
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self.notify()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            _log.warning("outbox relay cut off at the shutdown deadline", relay=self.name)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        try:
            # Passes overlap: one publishes while the next claims (the rows of a key in
            # flight are claimed, so a second pass never takes that key's later rows).
            await asyncio.gather(*(self._work(wake) for wake in self._wakes))
        finally:
            listener, self._listener = self._listener, None
            if listener is not None:
                await listener.aclose()

    def notify(self) -> None:
        """Something was written: every pass loop looks at the table again now."""
        for wake in self._wakes:
            wake.set()

    async def _work(self, wake: asyncio.Event) -> None:
        backoff = 0.0
        while not self._stopping:
            wake.clear()
            try:
                await self._keep_listening()
                published, outage = await self.relay_once()
                await self._sweep()
            except Exception as exc:  # noqa: BLE001 - the database is away: try again
                _log.warning("outbox relay pass failed", error=describe(exc))
                published, outage = 0, True
            if outage:
                backoff = min(MAX_BACKOFF, max(self._poll, backoff * 2))
                await self._pause(wake, backoff, wakeable=False)
                continue
            backoff = 0.0
            if published < self._batch:
                await self._pause(wake, self._poll, wakeable=True)

    async def _pause(self, wake: asyncio.Event, seconds: float, *, wakeable: bool) -> None:
        if self._stopping:
            return
        if wakeable:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await wake.wait()
            return
        deadline = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < deadline:
            # Only a stop cuts an outage's backoff short, not the writers' wake-ups.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(deadline - time.monotonic()):
                    await wake.wait()
            wake.clear()

    # ------------------------------------------------------------------ one pass

    async def relay_once(self) -> tuple[int, bool]:
        """Publish one batch of pending rows.

        Returns:
            How many rows were published, and whether the broker seemed away.
        """
        try:
            return await self._pass()
        finally:
            self.passes += 1

    async def _pass(self) -> tuple[int, bool]:
        at = table.now()
        statement = table.claim(
            self.name, batch=self._batch, lease=self._lease, at=at, postgresql=self._postgresql
        )
        async with self._db.transaction() as session:
            if self._postgresql:
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": table.CLAIM_LOCK}
                )
            rows = (await session.execute(statement)).all()
        if not rows:
            return 0, False
        chains: dict[object, list[Row[Any]]] = {}
        for row in rows:
            # Rows come oldest first; one key's rows go out one after another, in order.
            chains.setdefault(row.id if row.key is None else ("key", row.key), []).append(row)
        outcomes = await asyncio.gather(*(self._send_chain(chain) for chain in chains.values()))
        done = [row for chain in outcomes for row in chain[0]]
        failures = [failure for chain in outcomes for failure in chain[1]]
        skipped = [row for chain in outcomes for row in chain[2]]
        outage = bool(failures) and await self._broker_away()
        await self._settle(done, failures, skipped, outage=outage)
        confirmed_at = table.now()
        for row in done:
            self.metrics.lag.record((confirmed_at - table.as_utc(row.created_at)).total_seconds())
        if done:
            self.metrics.published.add(len(done))
        return len(done), outage

    async def _send_chain(
        self, chain: list[Row[Any]]
    ) -> tuple[list[Row[Any]], list[tuple[Row[Any], BaseException]], list[Row[Any]]]:
        # What was published, what failed, and what was not tried behind a failure.
        for n, row in enumerate(chain):
            try:
                await self._send(row)
            except Exception as exc:  # noqa: BLE001 - settled below, by the retry policy
                return chain[:n], [(row, exc)], chain[n + 1 :]
        return chain, [], []

    async def _send(self, row: Row[Any]) -> None:
        outgoing = table.outgoing(row)
        await self._transport.publish(row.exchange, outgoing, mandatory=row.mandatory)

    async def _settle(
        self,
        done: Sequence[Row[Any]],
        failures: Sequence[tuple[Row[Any], BaseException]],
        skipped: Sequence[Row[Any]],
        *,
        outage: bool,
    ) -> None:
        at = table.now()
        async with self._db.transaction() as session:
            if skipped:
                await session.execute(table.release(self.name, [row.id for row in skipped]))
            if done:
                ids = [row.id for row in done]
                await session.execute(
                    table.finished(self.name, ids, keep=self._retention > 0, at=at)
                )
            if outage:
                await session.execute(table.release(self.name, [row.id for row, _ in failures]))
                return
            for row, exc in failures:
                attempts = row.attempts + 1
                error = _error_text(exc)
                if isinstance(exc, Exception) and self._retry.should_retry(exc, attempts):
                    later = at + timedelta(seconds=self._retry.delay(attempts))
                    statement = table.retry_later(
                        self.name, row.id, attempts=attempts, at=later, error=error
                    )
                    self.metrics.retried.add(1)
                else:
                    statement = table.move_aside(self.name, row.id, attempts=attempts, error=error)
                    self.metrics.failed.add(1)
                    _log.error(
                        "outbox row failed for good",
                        row=row.id,
                        message_id=row.message_id,
                        attempts=attempts,
                        error=error,
                    )
                await session.execute(statement)

    async def _broker_away(self) -> bool:
        try:
            health = await self._transport.health()
        except Exception:  # noqa: BLE001 - a failing check means it is away
            return True
        return health.status is HealthStatus.DOWN

    async def _sweep(self) -> None:
        if self._retention <= 0 or time.monotonic() < self._next_sweep:
            return
        self._next_sweep = time.monotonic() + max(self._retention / 10, 1.0)
        before = table.now() - timedelta(seconds=self._retention)
        for _ in range(SWEEP_BATCHES):
            async with self._db.transaction() as session:
                result = await session.execute(table.sweepable(before, SWEEP_BATCH))
            if int(result.rowcount) < SWEEP_BATCH:  # type: ignore[attr-defined]
                return

    # ------------------------------------------------------------------ wake-ups

    async def _keep_listening(self) -> None:
        # (Re)open the LISTEN connection when there is none or the database dropped it;
        # at most every few seconds, and polling covers the time in between.
        if not self._postgresql or (self._listener is not None and self._listener.alive):
            return
        if time.monotonic() < self._listen_at:
            return
        self._listen_at = time.monotonic() + RELISTEN_INTERVAL
        old, self._listener = self._listener, None
        if old is not None:
            await old.aclose()
        try:
            self._listener = await Listener.open(self._db, self.notify)
        except Exception as exc:  # noqa: BLE001 - polling still works
            _log.warning("cannot LISTEN for outbox writes; polling", error=describe(exc))


def _error_text(exc: BaseException) -> str:
    # Library error text may carry a URL with a password, or a line break that forges a
    # log line: redacted, on one line, bounded by the column.
    detail = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {redact_text(detail)}" if detail else type(exc).__name__
    return text[: table.ERROR_LIMIT]
