"""Settling RabbitMQ deliveries: the deliveries the transport hands out, and their acks.

Part of the RabbitMQ transport (`svckit.messaging.amqp`), which checks that aio-pika is
installed before it imports this module.

Each delivery is acknowledged on its own (never ``multiple``) the moment its handler is
done, whatever still runs before it: a kill or a lost connection re-runs only what was
still running. A delivery tag is settled once, by its own frame, so no ack can cover a
tag that another subscription of the same channel still holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from svckit.core.errors import MessagingError
from svckit.core.logging import get_logger
from svckit.messaging._amqp_frames import LenientDeliver, LenientProperties

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from aiormq.abc import DeliveredMessage

__all__ = ["AmqpDelivery", "ChannelAcks", "GetDelivery"]

_log = get_logger("svckit.amqp")


class ChannelAcks:
    """Settles the deliveries of one aiormq channel, each with its own frame, at once.

    ``on_settled`` (optional) is called after each settlement; the subscription uses it
    to learn that a suspect delivery is done with.
    """

    __slots__ = ("channel", "on_settled")

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.on_settled: Callable[[], None] | None = None

    async def ack(self, tag: int) -> None:
        channel = self.channel
        if channel.is_closed:
            return  # the broker gave it back when the channel closed
        try:
            await channel.basic_ack(tag, wait=False)
        except Exception:  # noqa: BLE001 - closed meanwhile: the broker requeues it
            _log.debug("ack not sent; the broker requeues on channel close", exc_info=True)
        if self.on_settled is not None:
            self.on_settled()

    async def nack(self, tag: int, *, requeue: bool) -> None:
        channel = self.channel
        if channel.is_closed:
            return
        try:
            await channel.basic_nack(tag, requeue=requeue, wait=False)
        except Exception:  # noqa: BLE001 - closed meanwhile: the broker requeues it
            _log.debug("nack not sent; the broker requeues on channel close", exc_info=True)
        if self.on_settled is not None:
            self.on_settled()


class AmqpDelivery:
    """A message delivered to a consumer, as the consumer machinery reads it.

    Attributes:
        malformed: Why the broker's frames for this message could not be decoded as
            sent (svckit decoded them leniently, replacing what was not valid), or None.
            Such a message is not what its sender meant: dead-letter it.
    """

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

    def __init__(self, message: DeliveredMessage, acks: ChannelAcks) -> None:
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
        if isinstance(properties, LenientProperties) or isinstance(
            message.delivery, LenientDeliver
        ):
            self.malformed = _malformed(message)
        self._acks = acks
        self._settled = False

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
