"""A RabbitMQ consumer's subscription: basic.consume, restored after reconnects.

Part of the RabbitMQ transport (`svckit.messaging.amqp`), which checks that aio-pika is
installed before it imports this module.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import aiormq

from svckit.core.logging import get_logger
from svckit.messaging._amqp_acks import AmqpDelivery, ChannelAcks

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiormq.abc import DeliveredMessage

    from svckit.messaging._amqp_frames import FrameGuard
    from svckit.messaging.amqp import AmqpTransport
    from svckit.messaging.transport import Delivery

__all__ = ["CONNECTION_ERRORS", "Subscription"]

_log = get_logger("svckit.amqp")

#: Errors that mean "the connection or channel went away": worth a retry once it is back.
CONNECTION_ERRORS = (
    aiormq.exceptions.AMQPConnectionError,
    aiormq.exceptions.ChannelInvalidStateError,
    aiormq.exceptions.ChannelClosed,
    ConnectionError,
    TimeoutError,
)


class Subscription:
    """basic.consume on one channel, restored after reconnects by itself and a watchdog.

    A delivery tag belongs to its channel, not to a consumer: the deliveries of every
    consume on one aiormq channel are settled by one `ChannelAcks`.

    When the connection was lost because a frame on this channel could not be decoded
    (even leniently), the message is redelivered first, and would cost every prefetched
    neighbour a delivery each time it breaks the connection again: the consumer then
    resumes with a prefetch of one, and restores its prefetch once that delivery settles.
    """

    def __init__(
        self,
        transport: AmqpTransport,
        channel: Any,
        queue: str,
        on_delivery: Callable[[Delivery], Awaitable[None]],
        prefetch: int,
        *,
        guard: FrameGuard,
    ) -> None:
        self._transport = transport
        self._channel = channel  # aio-pika RobustChannel
        self._queue = queue
        self._on_delivery = on_delivery
        self._prefetch = prefetch
        self._guard = guard
        self._underlay: Any = None
        self._tag: str | None = None
        self._acks: ChannelAcks | None = None
        #: Whether the consumer runs with a prefetch of one until a suspect delivery settles.
        self.cautious = False
        #: Called when a delivery settles, while the consumer is cautious.
        self._when_settled: Callable[[], None] | None = None
        self._restoring: asyncio.Task[None] | None = None
        self._cancelled = False
        self._watchdog: asyncio.Task[None] | None = None
        self._reopening: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def active(self) -> bool:
        underlay = self._underlay
        return (
            not self._cancelled
            and underlay is not None
            and not underlay.is_closed
            and self._tag in underlay.consumers
        )

    async def start(self) -> None:
        await self._subscribe()
        self._channel.reopen_callbacks.add(self._on_reopen)
        self._watchdog = asyncio.get_running_loop().create_task(self._watch())

    async def _subscribe(self) -> None:
        async with self._lock:
            if self._cancelled or self.active:
                return
            underlay = await self._channel.get_underlay_channel()
            acks = self._acks
            if acks is None or acks.channel is not underlay:
                acks = ChannelAcks(underlay)
            previous = self._underlay
            if previous is not None and previous is not underlay:
                await self._be_cautious_after(previous, underlay)
            on_delivery = self._on_delivery

            async def deliver(message: DeliveredMessage) -> None:
                await on_delivery(AmqpDelivery(message, acks, self._when_settled))

            underlay.on_consumer_cancel_callbacks.add(self._on_broker_cancel)
            ok = await underlay.basic_consume(self._queue, deliver, no_ack=False)
            self._underlay, self._acks, self._tag = underlay, acks, ok.consumer_tag
            _log.debug("consuming", queue=self._queue)

    async def _be_cautious_after(self, previous: Any, underlay: Any) -> None:
        """Consume with a prefetch of one if ``previous`` was lost over an undecodable frame."""
        if self._guard.failed_channel is None or self._guard.failed_channel != previous.number:
            return
        self._guard.failed_channel = None
        await underlay.basic_qos(prefetch_count=1)
        self.cautious = True
        _log.warning(
            "the connection was lost over a frame of this consumer's; consuming one message "
            "at a time until it is settled",
            queue=self._queue,
        )

        def settled() -> None:
            self._when_settled = None
            self._restoring = asyncio.get_running_loop().create_task(self._restore(underlay))

        self._when_settled = settled

    async def _restore(self, underlay: Any) -> None:
        with contextlib.suppress(*CONNECTION_ERRORS):
            await underlay.basic_qos(prefetch_count=self._prefetch)
            self.cautious = False
            _log.info("the suspect message is settled; prefetch restored", queue=self._queue)

    async def _on_reopen(self, *_: Any) -> None:
        # Not awaited here: aio-pika waits for this callback while it reopens channels one
        # by one, and consuming again needs the publishing channel, which may come later.
        self._reopening = asyncio.get_running_loop().create_task(
            self._resubscribe("channel reopened")
        )

    def _on_broker_cancel(self, *_: Any) -> None:
        _log.warning("the broker cancelled the consumer", queue=self._queue)

    async def _resubscribe(self, reason: str) -> None:
        try:
            await self._transport.redeclare(self._queue)
            await self._subscribe()
            _log.info("consuming again", queue=self._queue, reason=reason)
        except Exception as exc:  # noqa: BLE001 - the watchdog tries again
            _log.warning("could not consume again yet", queue=self._queue, error=type(exc).__name__)

    async def _watch(self) -> None:
        while not self._cancelled:
            await asyncio.sleep(self._transport.watchdog_interval)
            await self.check()

    async def check(self) -> None:
        """Consume again if the connection is up but this consumer is gone (a watchdog pass)."""
        connection = self._transport._connection  # noqa: SLF001 - its own transport
        if self._cancelled or self.active or connection is None:
            return
        if connection.connected.is_set():
            await self._resubscribe("watchdog found no live consumer")

    async def cancel(self) -> None:
        self._cancelled = True
        underlay, tag = self._underlay, self._tag
        if underlay is not None and tag is not None and not underlay.is_closed:
            with contextlib.suppress(*CONNECTION_ERRORS):
                await underlay.basic_cancel(tag)

    async def close(self) -> None:
        self._cancelled = True
        for task in (self._watchdog, self._reopening, self._restoring):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
