"""The transactional outbox: publish a message if and only if a transaction commits.

::

    class Users(ApiService):
        uses_outbox = True                      # implies uses_database

    async with service.db.transaction() as session:
        session.add(User(id=7, email="a@example.com"))
        await service.outbox.publish(UserCreated(user_id=7), key="user:7")
    # committed: the relay publishes UserCreated; rolled back: nothing is published

`Outbox.publish` writes the message, exactly as `Bus.publish` would send it (the same
message id, headers, trace context and properties: both build it with
`svckit.messaging.bus.envelope`), into the ``svckit_outbox`` table in the caller's
transaction. The relay (a task while the outbox is open, after the bus and before it
closes) publishes the committed rows with confirms and only then deletes them. On
PostgreSQL it wakes on ``LISTEN``/``NOTIFY`` (sent by processes that only write);
everywhere it polls as a fallback, and a commit in its own process wakes it at once.

Guarantees, and where they stop: a message is published at least once if its
transaction commits and never if it rolls back. A relay that crashes after the confirm
and before the delete publishes the row again, with the same message id, so an
idempotent consumer (``idempotent=True``, best with ``inbox="database"``) sees it once.
Messages with the same ``key`` are published in the order they were written; a row
that keeps failing moves aside (``failed``) after its last attempt and no longer holds
its key back, as a dead letter does; ``svckit outbox list | retry | purge`` operate those.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import event, insert, text

from svckit.core.health import Health
from svckit.core.retry import RetryPolicy
from svckit.db import _outbox_table as table
from svckit.db._errors import describe
from svckit.db._outbox_signals import CHANNEL
from svckit.db._relay import Relay
from svckit.messaging.bus import envelope

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType

    from opentelemetry.metrics import MeterProvider
    from sqlalchemy.ext.asyncio import AsyncSession

    from svckit.core.settings import ServiceSettings
    from svckit.db.database import Database
    from svckit.messaging.bus import Bus
    from svckit.messaging.message import Message

__all__ = ["DEFAULT_RETRY", "Outbox"]

#: How the relay retries a row whose publish fails while the broker is up: ten tries
#: over about five minutes, then the row moves aside.
DEFAULT_RETRY = RetryPolicy(attempts=10, initial_delay=1.0, multiplier=2.0, max_delay=60.0)
_INSERT = insert(table.outbox_table)
_HOOKED = "svckit_outbox_hooked"
_NOTIFIED = "svckit_outbox_notified"


class Outbox:
    """Writes messages in the caller's transaction and relays them to the bus.

    A resource: opened after the database and the bus (its relay starts then), closed
    before them (the relay finishes its batch in flight first).

    Attributes:
        name: ``"outbox"``, its name among the service's resources.
        relay_name: Who claims rows in the table (host and process id by default).
    """

    name = "outbox"

    def __init__(
        self,
        database: Database,
        bus: Bus,
        *,
        relay: bool = True,
        retry: RetryPolicy = DEFAULT_RETRY,
        batch_size: int = 200,
        lease: float = 120.0,
        poll_interval: float = 0.5,
        retention: float = 0.0,
        lag_threshold: float = 30.0,
        concurrency: int = 2,
        shutdown_timeout: float = 25.0,
        relay_name: str | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        """Create the outbox of ``database``, relaying to ``bus``.

        Args:
            database: Where the ``svckit_outbox`` table is (in `SVCKIT_METADATA`).
            bus: Whose exchange, transport and envelope the messages get.
            relay: Run a relay in this process (a process may only write).
            retry: How a row whose publish fails is tried again before it moves aside.
            batch_size: Rows one pass claims and publishes at once.
            lease: Seconds a claimed row stays another relay's to leave alone.
            poll_interval: Seconds between two looks at the table when nothing woke
                the relay.
            retention: Seconds a published row is kept (marked ``done``) before it is
                swept; 0 deletes it at once.
            lag_threshold: Readiness is degraded while the oldest pending row is older.
            concurrency: Relay passes run at once (one publishes while another claims).
            shutdown_timeout: Seconds the relay's last pass may take on close.
            relay_name: The relay's name in the claims.
            meter_provider: Where metrics go (the global provider by default).
        """
        if min(batch_size, concurrency) < 1 or min(lease, poll_interval) <= 0 or retention < 0:
            raise ValueError("batch_size, concurrency, lease and poll_interval must be positive")
        self.db = database
        self.bus = bus
        self.relay_name = relay_name or f"{socket.gethostname()[:40]}:{os.getpid()}"
        self._relay_on = relay
        self._lag_threshold = lag_threshold
        self._shutdown_timeout = shutdown_timeout
        self.relay = Relay(
            database,
            bus.transport,
            name=self.relay_name,
            service=bus.service,
            retry=retry,
            batch_size=batch_size,
            lease=lease,
            poll_interval=poll_interval,
            retention=retention,
            concurrency=concurrency,
            meter_provider=meter_provider,
        )

    @classmethod
    def from_settings(
        cls,
        settings: ServiceSettings,
        database: Database,
        bus: Bus,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> Outbox:
        """The outbox a service's settings describe (the ``outbox_*`` settings)."""
        return cls(
            database,
            bus,
            relay=settings.outbox_relay,
            retry=retry,
            batch_size=settings.outbox_batch_size,
            lease=settings.outbox_lease,
            poll_interval=settings.outbox_poll_interval,
            retention=settings.outbox_retention,
            lag_threshold=settings.outbox_lag_threshold,
            shutdown_timeout=settings.shutdown_timeout,
        )

    # ------------------------------------------------------------------ writing

    async def publish(
        self,
        message: Message,
        *,
        session: AsyncSession | None = None,
        key: str | None = None,
        message_id: str | None = None,
        correlation_id: str | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        """Write ``message`` to the outbox in a transaction; the relay publishes it after.

        Args:
            message: An `Event` or a `Command` with a topic (a command that no queue
                receives fails at relay time, and its row moves aside).
            session: The transaction to write in; by default the task's current
                ``db.transaction()`` (joined), or one of its own.
            key: Messages with the same key are published in the order written (a user
                id, for example); rows without a key are unordered.
            message_id: The id consumers deduplicate by (a new one by default).
            correlation_id: Ties the message to a conversation.
            headers: Extra AMQP headers (JSON values: they are stored as JSON).

        Returns:
            The message id.

        Raises:
            ValueError: a key or message id longer than 255 characters.
            TypeError: a header whose value JSON cannot hold (bytes, a datetime).
        """
        if key is not None and len(key) > table.KEY_LIMIT:
            raise ValueError(f"an outbox key is at most {table.KEY_LIMIT} characters")
        if message_id is not None and len(message_id) > table.KEY_LIMIT:
            raise ValueError(f"an outbox message id is at most {table.KEY_LIMIT} characters")
        if headers:
            try:
                json.dumps(dict(headers))
            except (TypeError, ValueError) as exc:
                raise TypeError(f"outbox headers must be JSON values: {exc}") from None
        outgoing = envelope(
            message, message_id=message_id, correlation_id=correlation_id, headers=headers
        )
        row = table.row_for(
            outgoing, exchange=self.bus.exchange, mandatory=message.requires_route, key=key
        )
        if session is not None:
            await self._write(session, row)
        else:
            async with self.db.transaction() as own:
                await self._write(own, row)
        return str(row["message_id"])  # the envelope always gives one

    async def _write(self, session: AsyncSession, row: dict[str, Any]) -> None:
        # One statement, its parameters apart: built (and compiled) once, not per call.
        await session.execute(_INSERT, row)
        info = session.info
        if not info.get(_HOOKED):
            info[_HOOKED] = True
            event.listen(session.sync_session, "after_commit", self._committed)
        if self.db.backend == "postgresql" and not self.relay.running and not info.get(_NOTIFIED):
            # Delivered to the listening relays when (and only if) the transaction commits.
            # A process with a relay of its own wakes it after the commit instead, and
            # spares the round trip (and NOTIFY's lock at commit).
            info[_NOTIFIED] = True
            await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})

    def _committed(self, sync_session: Any) -> None:
        # Runs in the event loop's thread, inside SQLAlchemy's greenlet.
        sync_session.info.pop(_NOTIFIED, None)
        self.relay.notify()

    # ------------------------------------------------------------------ resource

    async def __aenter__(self) -> Self:
        """Start the relay (unless this process only writes)."""
        if self._relay_on:
            self.relay.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Let the relay finish its batch in flight (under the shutdown timeout); stop it."""
        await self.relay.stop(self._shutdown_timeout)

    async def relay_once(self) -> int:
        """Publish one batch of pending rows now; how many were published (tests, tools)."""
        published, _ = await self.relay.relay_once()
        return published

    async def backlog(self) -> tuple[int, float]:
        """How many rows are pending, and the age in seconds of the oldest (0 for none)."""
        async with self.db.transaction() as session:
            count, oldest = (await session.execute(table.backlog())).one()
        self.relay.pending = int(count)
        if oldest is None:
            return int(count), 0.0
        return int(count), max(0.0, (table.now() - table.as_utc(oldest)).total_seconds())

    async def health(self) -> Health:
        """The backlog: degraded while the oldest pending row is older than the threshold.

        Never down: a backlog is work waiting, not a broken service (the bus and the
        database have checks of their own).
        """
        try:
            async with asyncio.timeout(1.0):
                count, age = await self.backlog()
        except TimeoutError:
            return Health.degraded("no answer from the outbox table within 1s")
        except Exception as exc:  # noqa: BLE001 - the database check says more
            return Health.degraded(f"cannot read the outbox: {describe(exc)}")
        detail = f"{count} pending, oldest {age:.1f}s"
        if self._relay_on and not self.relay.running:
            return Health.degraded(f"relay not running; {detail}")
        if age > self._lag_threshold:
            return Health.degraded(f"{detail} (more than {self._lag_threshold:g}s)")
        return Health.up(detail)
