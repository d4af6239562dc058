"""Settling RabbitMQ deliveries: the deliveries the transport hands out, and their acks.

Part of the RabbitMQ transport (`svckit.messaging.amqp`), which checks that aio-pika is
installed before it imports this module.
"""

from __future__ import annotations

import asyncio
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Any

from svckit.core.errors import MessagingError
from svckit.core.logging import get_logger

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Mapping
    from datetime import datetime

    from aiormq.abc import DeliveredMessage

__all__ = ["Acks", "AmqpDelivery", "GetDelivery"]

_log = get_logger("svckit.amqp")


class Acks:
    """Settles one channel's deliveries, coalescing the acks of contiguous finished ones.

    An ack is not sent at once: the first finished delivery schedules a flush for the
    next turn of the event loop, and every delivery finished by then is covered by one
    ``multiple`` ack of the contiguous finished prefix. Frames are written strictly in
    the order they were made (each waits for the one before), so a nack always reaches
    the broker before a ``multiple`` ack that would cover its tag, and no tag is
    acknowledged twice.
    """

    __slots__ = (
        "_channel",
        "_done",
        "_flush_at",
        "_last",
        "_loop",
        "_order",
        "_scheduled",
        "_state",
    )

    RUNNING, DONE, SETTLED = 0, 1, 2

    def __init__(self, channel: Any, prefetch: int) -> None:
        self._channel = channel
        self._order: deque[int] = deque()
        self._state: dict[int, int] = {}
        self._done = 0  # finished but not yet acknowledged
        self._flush_at = max(1, prefetch // 2)
        self._scheduled = False
        self._loop = asyncio.get_running_loop()
        self._last: asyncio.Task[None] | None = None

    @property
    def live(self) -> bool:
        return not self._channel.is_closed

    def track(self, tag: int) -> None:
        self._order.append(tag)
        self._state[tag] = self.RUNNING

    async def ack(self, tag: int) -> None:
        if not self.live:
            return  # the broker gave it back when the channel closed
        self._state[tag] = self.DONE
        self._done += 1
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    async def nack(self, tag: int, *, requeue: bool) -> None:
        if not self.live:
            return
        self._state[tag] = self.SETTLED
        self._send(partial(self._channel.basic_nack, tag, requeue=requeue, wait=False))
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if not self.live:
            return
        last = self._advance()
        if last is not None:
            self._send(partial(self._channel.basic_ack, last, multiple=True, wait=False))
        if self._done >= self._flush_at:
            # A slow delivery holds the head: ack the finished ones one by one, so the
            # broker's prefetch window does not fill with work that is already done.
            waiting = [tag for tag, value in self._state.items() if value == self.DONE]
            for tag in waiting:
                self._state[tag] = self.SETTLED
                self._send(partial(self._channel.basic_ack, tag, wait=False))
            self._done = 0

    def _advance(self) -> int | None:
        """Drop the settled head of the window; return the last finished tag dropped."""
        order, state = self._order, self._state
        last = None
        while order and state[order[0]] != self.RUNNING:
            head = order.popleft()
            if state.pop(head) == self.DONE:
                self._done -= 1
                last = head
        return last

    def _send(self, frame: Callable[[], Coroutine[Any, Any, None]]) -> None:
        # aiormq's send buffer is a bounded queue, and a frame made later can overtake one
        # waiting for room in it: chain the sends so that they go out in order.
        previous = self._last

        async def in_order() -> None:
            if previous is not None and not previous.done():
                await asyncio.wait([previous])
            # Made only now: a send cut off before its turn leaves no coroutine unawaited.
            await frame()

        task = self._last = self._loop.create_task(in_order())
        task.add_done_callback(_log_send_failure)


def _log_send_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.debug("ack not sent; the broker requeues on channel close", exc_info=task.exception())


class AmqpDelivery:
    __slots__ = (
        "_acks",
        "_settled",
        "app_id",
        "body",
        "content_encoding",
        "content_type",
        "correlation_id",
        "expiration",
        "headers",
        "message_id",
        "priority",
        "redelivered",
        "reply_to",
        "routing_key",
        "tag",
        "timestamp",
        "type",
        "user_id",
    )

    def __init__(self, message: DeliveredMessage, acks: Acks) -> None:
        properties = message.header.properties
        self.body: bytes = message.body
        self.routing_key: str = message.routing_key or ""
        self.headers: Mapping[str, Any] = properties.headers or {}
        self.message_id: str | None = properties.message_id
        self.type: str | None = properties.message_type
        self.correlation_id: str | None = properties.correlation_id
        self.timestamp: datetime | None = properties.timestamp
        self.redelivered: bool = bool(message.redelivered)
        self.content_type: str | None = properties.content_type
        self.content_encoding: str | None = properties.content_encoding
        self.priority: int | None = properties.priority
        self.expiration: str | None = properties.expiration
        self.reply_to: str | None = properties.reply_to
        self.app_id: str | None = properties.app_id
        self.user_id: str | None = properties.user_id
        self.tag: int = message.delivery_tag or 0
        self._acks = acks
        self._settled = False
        acks.track(self.tag)

    def _settle(self) -> None:
        if self._settled:
            raise MessagingError("this delivery was already acknowledged or rejected")
        self._settled = True

    async def ack(self) -> None:
        self._settle()
        await self._acks.ack(self.tag)

    async def nack(self, *, requeue: bool) -> None:
        self._settle()
        await self._acks.nack(self.tag, requeue=requeue)


class GetDelivery(AmqpDelivery):
    """A message taken with basic.get, settled on its own.

    Several may be held at once on the shared channel (a dead-letter listing), so a
    ``multiple`` ack, which would settle them all, must never be sent for one of them.
    """

    __slots__ = ("_channel",)

    def __init__(self, message: DeliveredMessage, channel: Any) -> None:
        super().__init__(message, Acks(channel, 1))
        self._channel = channel

    async def ack(self) -> None:
        self._settle()
        await self._channel.basic_ack(self.tag)

    async def nack(self, *, requeue: bool) -> None:
        self._settle()
        await self._channel.basic_nack(self.tag, requeue=requeue)
