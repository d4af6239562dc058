"""What the outbox relay listens to and reports: NOTIFY wake-ups, metrics."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from svckit.core.telemetry import counter, get_meter, histogram

if TYPE_CHECKING:
    from collections.abc import Callable

    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

    from svckit.db.database import Database


class OutboxMetrics:
    """The relay's instruments, on the service's meter."""

    def __init__(
        self, service: str, meter_provider: MeterProvider | None, *, pending: Callable[[], int]
    ) -> None:
        """Create the instruments; ``pending`` gives the backlog last seen, for the gauge."""
        meter = get_meter(service, meter_provider=meter_provider)
        self._pending = pending
        self.published = counter(
            meter, "svckit.outbox.published", unit="{message}", description="Relayed, confirmed"
        )
        self.failed = counter(
            meter, "svckit.outbox.failed", unit="{message}", description="Moved aside as failed"
        )
        self.retried = counter(
            meter, "svckit.outbox.retried", unit="{message}", description="Publish failed, later"
        )
        self.lag = histogram(
            meter, "svckit.outbox.lag", description="From the outbox write to the confirm"
        )
        meter.create_observable_gauge(
            "svckit.outbox.pending",
            callbacks=[self._observe],
            unit="{message}",
            description="Rows waiting in the outbox (as of the last readiness check)",
        )

    def _observe(self, _options: CallbackOptions) -> list[Observation]:
        from opentelemetry.metrics import Observation  # noqa: PLC0415

        return [Observation(self._pending())]


#: The PostgreSQL channel the outbox writers notify.
CHANNEL = "svckit_outbox"


class Listener:
    """A pooled connection kept aside, listening for the writers' NOTIFY."""

    def __init__(self, connection: Any, driver: Any, wake: Callable[[], None]) -> None:
        self._connection = connection
        self._driver = driver
        self._wake = wake

    @classmethod
    async def open(cls, database: Database, wake: Callable[[], None]) -> Listener:
        """Take a connection from ``database``'s pool and LISTEN on it; NOTIFY calls ``wake``."""
        connection = await database.engine.connect()
        try:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            listener = cls(connection, driver, wake)
            await driver.add_listener(CHANNEL, listener._notified)
        except BaseException:
            await connection.close()
            raise
        return listener

    @property
    def alive(self) -> bool:
        """Whether the connection still listens."""
        return not self._driver.is_closed()

    def _notified(self, *_args: object) -> None:
        self._wake()

    async def aclose(self) -> None:
        """Stop listening and give the connection back."""
        with contextlib.suppress(Exception):
            await self._driver.remove_listener(CHANNEL, self._notified)
        with contextlib.suppress(Exception):
            await self._connection.close()
