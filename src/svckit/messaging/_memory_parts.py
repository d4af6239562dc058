"""The pieces of the embedded broker: stored messages, queues, deliveries, subscriptions.

`svckit.messaging.memory` puts them together; nothing here is public.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from svckit.core.errors import MessagingError
from svckit.core.logging import get_logger
from svckit.messaging.transport import Outgoing, QueueType

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from svckit.messaging._memory_broker import MemoryBroker
    from svckit.messaging.transport import Delivery

_log = get_logger("svckit.memory")

__all__ = [
    "MemoryDelivery",
    "Queue",
    "Stored",
    "Subscription",
    "put_back",
    "record_death",
    "stored_copy",
    "to_outgoing",
]


@dataclass(slots=True)
class Stored:
    """A message inside the broker."""

    body: bytes
    routing_key: str
    headers: dict[str, Any]
    message_id: str | None
    type: str | None
    correlation_id: str | None
    timestamp: datetime | None
    content_type: str | None
    content_encoding: str | None = None
    priority: int | None = None
    expiration: str | None = None
    reply_to: str | None = None
    app_id: str | None = None
    user_id: str | None = None
    redelivered: bool = False
    delivery_count: int = 0
    position: int = 0  # order of arrival in its queue; a requeued message goes back there
    # When its own expiration runs out (loop time), set as it enters a queue; it is
    # dead-lettered as expired when it reaches the head of the queue, as RabbitMQ does.
    expires_at: float | None = None


@dataclass(slots=True)
class Queue:
    name: str
    queue_type: QueueType = QueueType.QUORUM
    dead_letter: str | None = None  # queue name, through the default exchange
    ttl_ms: int | None = None
    delivery_limit: int | None = None
    ready: deque[Stored] = field(default_factory=deque)
    consumers: list[Subscription] = field(default_factory=list)
    next_consumer: int = 0

    @property
    def arguments(self) -> tuple[QueueType, str | None, int | None, int | None]:
        """What a second declaration must repeat (RabbitMQ's x-arguments)."""
        return (self.queue_type, self.dead_letter, self.ttl_ms, self.delivery_limit)


class MemoryDelivery:
    """A message delivered by the embedded broker."""

    __slots__ = (
        "_broker",
        "_queue",
        "_returned",
        "_settled",
        "_stored",
        "_subscription",
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
        "timestamp",
        "type",
        "user_id",
    )

    def __init__(
        self,
        broker: MemoryBroker,
        queue: Queue,
        stored: Stored,
        subscription: Subscription | None,
    ) -> None:
        """Wrap ``stored`` as delivered from ``queue``."""
        self._broker = broker
        self._queue = queue
        self._stored = stored
        self._subscription = subscription
        self._settled = False
        self._returned = False
        if subscription is not None:
            subscription.unsettled.add(self)
        self.body = stored.body
        self.routing_key = stored.routing_key
        self.headers: Mapping[str, Any] = stored.headers
        self.message_id = stored.message_id
        self.type = stored.type
        self.correlation_id = stored.correlation_id
        self.timestamp = stored.timestamp
        self.redelivered = stored.redelivered
        self.content_type = stored.content_type
        self.content_encoding = stored.content_encoding
        self.priority = stored.priority
        self.expiration = stored.expiration
        self.reply_to = stored.reply_to
        self.app_id = stored.app_id
        self.user_id = stored.user_id
        self.malformed: str | None = None  # what is stored was published by svckit's rules

    def _settle(self) -> bool:
        """Mark settled; False when the broker already took the message back."""
        if self._returned:
            return False
        if self._settled:
            raise MessagingError("this delivery was already acknowledged or rejected")
        self._settled = True
        self._broker._unacked -= 1  # noqa: SLF001 - the broker's own bookkeeping
        if self._subscription is not None:
            self._subscription.unacked -= 1
            self._subscription.unsettled.discard(self)
        return True

    async def ack(self) -> None:
        """Forget the message."""
        if self._settle():
            self._broker._after_change(self._queue)  # noqa: SLF001

    async def nack(self, *, requeue: bool) -> None:
        """Put the message back where it was in its queue, or dead-letter it."""
        if self._settle():
            self._requeue_or_dead_letter(requeue=requeue)

    def take_back(self) -> None:
        """The broker takes the message back, as when a consumer's channel closes."""
        if self._settle():
            self._returned = True
            self._requeue_or_dead_letter(requeue=True)

    def _requeue_or_dead_letter(self, *, requeue: bool) -> None:
        stored, broker = self._stored, self._broker
        if not requeue:
            broker._dead_letter(self._queue, stored, "rejected")  # noqa: SLF001
        elif broker._over_limit(self._queue, stored):  # noqa: SLF001
            broker._dead_letter(self._queue, stored, "delivery_limit")  # noqa: SLF001
        else:
            stored.redelivered = True
            put_back(self._queue.ready, stored)
        broker._after_change(self._queue)  # noqa: SLF001


class Subscription:
    """One consumer of a queue: its prefetch window and the tasks that call it.

    Each delivery runs in a task of its own, as aiormq runs each message off the
    socket, in a copy of the context the subscription was made in: a handler never
    sees the publisher's context variables (its bound log fields, its trace), nor what
    an earlier delivery set, which RabbitMQ could not carry either.
    """

    __slots__ = (
        "broker",
        "callback",
        "context",
        "loop",
        "pending",
        "prefetch",
        "queue",
        "tag",
        "unacked",
        "unsettled",
    )

    def __init__(
        self,
        broker: MemoryBroker,
        queue: Queue,
        callback: Callable[[Delivery], Awaitable[None]],
        prefetch: int,
    ) -> None:
        self.broker = broker
        self.queue = queue
        self.callback = callback
        self.prefetch = prefetch
        self.unacked = 0
        self.unsettled: set[MemoryDelivery] = set()
        # Delivered, but their task has not started: `cancel` gives them back unseen.
        self.pending: dict[MemoryDelivery, asyncio.Task[None]] = {}
        self.context = contextvars.copy_context()
        self.loop = asyncio.get_running_loop()
        self.tag = next(broker._tags)  # noqa: SLF001

    @property
    def active(self) -> bool:
        return self in self.queue.consumers

    def deliver(self, delivery: MemoryDelivery) -> None:
        task = self.loop.create_task(self._call(delivery), context=self.context.copy())
        self.pending[delivery] = task
        self.broker._track(task)  # noqa: SLF001

    async def _call(self, delivery: MemoryDelivery) -> None:
        del self.pending[delivery]
        try:
            await self.callback(delivery)
        except Exception:  # noqa: BLE001 - logged; the consumer goes on
            # What the consumer did not settle stays unacknowledged, as on RabbitMQ.
            _log.exception("a consumer callback failed", queue=self.queue.name)

    async def cancel(self) -> None:
        if self in self.queue.consumers:
            self.queue.consumers.remove(self)
        # Deliveries whose task did not start never reached the consumer: they go back now.
        pending, self.pending = self.pending, {}
        for delivery, task in pending.items():
            task.cancel()
            delivery.take_back()


def record_death(stored: Stored, queue: str, reason: str) -> None:
    """Add to the ``x-death`` header as RabbitMQ does: one counted entry per queue and reason."""
    deaths = [dict(d) for d in stored.headers.get("x-death", []) if isinstance(d, dict)]
    entry = next((d for d in deaths if d.get("queue") == queue and d.get("reason") == reason), None)
    if entry is None:
        entry = {
            "count": 0,
            "reason": reason,
            "queue": queue,
            "exchange": "",
            "routing-keys": [stored.routing_key],
        }
    else:
        deaths.remove(entry)
    entry["count"] = int(entry["count"]) + 1
    entry["time"] = datetime.now(UTC)
    if stored.expiration is not None:
        # RabbitMQ moves the expiration into the death record, so that the message does
        # not expire again in the queue it goes to.
        entry["original-expiration"] = stored.expiration
        stored.expiration = None
    stored.expires_at = None
    stored.headers["x-death"] = [entry, *deaths]


def put_back(ready: deque[Stored], stored: Stored) -> None:
    """Requeue ``stored`` where it was, as RabbitMQ does, ahead of later arrivals."""
    index = 0
    for index, other in enumerate(ready):  # noqa: B007 - the index is the result
        if other.position > stored.position:
            break
    else:
        index = len(ready)
    ready.insert(index, stored)


def stored_copy(message: Outgoing) -> Stored:
    return Stored(
        body=message.body,
        routing_key=message.routing_key,
        headers=dict(message.headers),
        message_id=message.message_id,
        type=message.type,
        correlation_id=message.correlation_id,
        timestamp=message.timestamp,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        priority=message.priority,
        expiration=message.expiration,
        reply_to=message.reply_to,
        app_id=message.app_id,
        user_id=message.user_id,
    )


def to_outgoing(stored: Stored) -> Outgoing:
    return Outgoing(
        body=stored.body,
        routing_key=stored.routing_key,
        message_id=stored.message_id,
        timestamp=stored.timestamp,
        type=stored.type,
        correlation_id=stored.correlation_id,
        headers=dict(stored.headers),
        content_type=stored.content_type,
        content_encoding=stored.content_encoding,
        priority=stored.priority,
        expiration=stored.expiration,
        reply_to=stored.reply_to,
        app_id=stored.app_id,
        user_id=stored.user_id,
    )
