"""Settling RabbitMQ deliveries: the deliveries the transport hands out, and their acks.

Part of the RabbitMQ transport (`svckit.messaging.amqp`), which checks that aio-pika is
installed before it imports this module.

A finished delivery is acknowledged at once (in the next turn of the event loop),
whatever still runs before it, so a kill or a lost connection re-runs only what was
still running. Acks that finish in the same turn are sent as one ``multiple`` ack only
where that is provably right (see `ChannelAcks`); every other one on its own.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from svckit.core.errors import MessagingError
from svckit.core.logging import get_logger
from svckit.messaging._amqp_frames import LenientMethod, LenientProperties

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from aiormq.abc import DeliveredMessage

__all__ = ["AmqpDelivery", "ChannelAcks", "GetDelivery"]

_log = get_logger("svckit.amqp")


class ChannelAcks:
    """Settles the deliveries of one aiormq channel, in order, from one task.

    The broker numbers a channel's deliveries 1, 2, 3... and a ``multiple`` ack of tag N
    settles every unsettled tag up to N. So ``floor`` is the highest tag N such that
    every tag up to N is known settled (by a frame already sent), and a ``multiple`` ack
    is sent only for a run of tags that are all finished and follow ``floor`` without a
    gap: it then covers exactly those. A tag svckit never saw (a delivery aiormq dropped)
    is a gap the floor never passes, and every later ack goes on its own. One channel has
    one `ChannelAcks`, whatever subscriptions come and go on it, and one task sends its
    frames one after another (aiormq's bounded send queue could otherwise let a later
    frame overtake an earlier one), so a nack reaches the broker before any ack that
    could cover its tag.
    """

    __slots__ = ("_finished", "_nacks", "_sender", "_settled", "_wake", "channel", "floor")

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.floor = 0
        self._finished: set[int] = set()  # finished, ack not sent yet
        self._settled: set[int] = set()  # above the floor, settled by a frame already sent
        self._nacks: list[tuple[int, bool]] = []
        self._wake = asyncio.Event()
        self._sender: asyncio.Future[None] | None = None

    def ack(self, tag: int) -> None:
        self._finished.add(tag)
        self._wake_sender()

    def nack(self, tag: int, *, requeue: bool) -> None:
        self._nacks.append((tag, requeue))
        self._wake_sender()

    def _wake_sender(self) -> None:
        if self.channel.is_closed:
            return  # the broker gave them back when the channel closed
        if self._sender is None or self._sender.done():
            # A task of the channel's own: aiormq cancels it when the channel closes.
            self._sender = self.channel.create_task(self._send())
        self._wake.set()

    async def _send(self) -> None:
        channel = self.channel
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while self._nacks:
                    tag, requeue = self._nacks.pop(0)
                    self._settled.add(tag)
                    await channel.basic_nack(tag, requeue=requeue, wait=False)
                last = self._advance()
                if last is not None:
                    await channel.basic_ack(last, multiple=True, wait=False)
                for tag in sorted(self._finished):  # behind a delivery still running
                    self._finished.discard(tag)
                    self._settled.add(tag)
                    await channel.basic_ack(tag, wait=False)
            except Exception:  # noqa: BLE001 - closed meanwhile: the broker requeues them
                _log.debug("acks not sent; the broker requeues on channel close", exc_info=True)
                return

    def _advance(self) -> int | None:
        """Raise the floor over finished and settled tags; the last finished one, if any."""
        floor, finished, settled = self.floor, self._finished, self._settled
        last = None
        while True:
            following = floor + 1
            if following in finished:
                finished.discard(following)
                last = following
            elif following in settled:
                settled.discard(following)
            else:
                break
            floor = following
        self.floor = floor
        return last


class AmqpDelivery:
    """A message delivered to a consumer, as the consumer machinery reads it.

    Attributes:
        malformed: Why the broker's frames for this message could not be decoded as
            sent (svckit decoded them leniently, replacing what was not valid), or None.
            Such a message is not what its sender meant: dead-letter it.
    """

    __slots__ = (
        "_acks",
        "_on_settled",
        "_settled",
        "app_id",
        "body",
        "content_encoding",
        "content_type",
        "correlation_id",
        "expiration",
        "headers",
        "malformed",
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

    def __init__(
        self,
        message: DeliveredMessage,
        acks: ChannelAcks,
        on_settled: Callable[[], None] | None = None,
    ) -> None:
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
        self.malformed: str | None = None
        if isinstance(properties, LenientProperties) or isinstance(message.delivery, LenientMethod):
            self.malformed = _malformed(message)
        self._acks = acks
        self._on_settled = on_settled
        self._settled = False

    def _settle(self) -> None:
        if self._settled:
            raise MessagingError("this delivery was already acknowledged or rejected")
        self._settled = True
        if self._on_settled is not None:
            self._on_settled()

    async def ack(self) -> None:
        self._settle()
        self._acks.ack(self.tag)

    async def nack(self, *, requeue: bool) -> None:
        self._settle()
        self._acks.nack(self.tag, requeue=requeue)


def _malformed(message: DeliveredMessage) -> str:
    reasons = [
        getattr(part, "malformed", None) for part in (message.delivery, message.header.properties)
    ]
    return "; ".join(reason for reason in reasons if reason)


class GetDelivery(AmqpDelivery):
    """A message taken with basic.get, settled on its own, and waited for."""

    __slots__ = ("_channel",)

    def __init__(self, message: DeliveredMessage, channel: Any) -> None:
        super().__init__(message, ChannelAcks(channel))
        self._channel = channel

    async def ack(self) -> None:
        self._settle()
        await self._channel.basic_ack(self.tag)

    async def nack(self, *, requeue: bool) -> None:
        self._settle()
        await self._channel.basic_nack(self.tag, requeue=requeue)
