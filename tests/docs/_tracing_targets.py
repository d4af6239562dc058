"""Services the tracing tests run beside (or instead of) the how-to's, under `svckit run`.

`svckit run A B` runs both on one embedded broker: `Sender` gives the other service an
order to handle, so that a test sees a whole trace, publish to process.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Self

from pydantic_settings import SettingsConfigDict

from svckit import UnroutableError, get_logger
from svckit.messaging import Command, Event
from svckit.worker import WorkerService, WorkerSettings, consumer

if TYPE_CHECKING:
    from types import TracebackType

log = get_logger(__name__)


class PlaceOrder(Command, topic="orders.placed"):
    """The how-to's `OrderPlaced`, sent as a command: publishing fails until it is routed."""

    order_id: int


class OrderPlaced(Event, topic="orders.placed"):
    order_id: int


class SenderSettings(WorkerSettings):
    model_config = SettingsConfigDict(env_prefix="SENDER_")

    service_name: str = "sender"
    health_port: int | None = None


class Sender(WorkerService):
    """Publishes one order once the service that takes orders has declared its queue."""

    settings: SenderSettings

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._sending = asyncio.create_task(self._send())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sending
        await super().__aexit__(exc_type, exc, tb)

    async def _send(self) -> None:
        # The services start side by side: the other one's queue may not exist yet.
        async with asyncio.timeout(20):
            while True:
                try:
                    await self.publish(PlaceOrder(order_id=1))
                except UnroutableError:
                    await asyncio.sleep(0.05)
                else:
                    log.info("order sent")
                    return


class ReceiverSettings(WorkerSettings):
    model_config = SettingsConfigDict(env_prefix="RECEIVER_")

    service_name: str = "receiver"


class Receiver(WorkerService):
    """Takes orders, with no tracing code of its own (for `opentelemetry-instrument`)."""

    settings: ReceiverSettings

    @consumer()
    async def reserve_stock(self, order: OrderPlaced) -> None:
        log.info("stock reserved", order_id=order.order_id)
