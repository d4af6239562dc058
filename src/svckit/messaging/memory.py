"""The embedded broker: RabbitMQ's semantics in one process, for development and tests.

It keeps the promises the RabbitMQ transport keeps: topic routing with ``*`` and ``#``,
per-queue order, acknowledgements, requeue with the redelivered flag, prefetch, delay
queues (TTL, then dead-lettered back), dead letters, delivery limits and unroutable
commands. What it cannot do is survive its process: it keeps nothing on disk.

Every ``memory://`` URL in one process names one broker (``memory://`` is the default
one, ``memory://other`` another), so several services in one process talk to each
other. Tests read what happened through `MemoryBroker`: `published`, `messages` and
`wait_idle`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svckit.core.health import Health
from svckit.messaging._memory_broker import PUBLISHED_KEPT, MemoryBroker
from svckit.messaging.transport import QueueSpec, QueueType

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from svckit.messaging._memory_parts import MemoryDelivery, Subscription
    from svckit.messaging.transport import Delivery, Outgoing

__all__ = ["PUBLISHED_KEPT", "MemoryBroker", "MemoryTransport", "broker_for", "forget_broker"]


_BROKERS: dict[str, MemoryBroker] = {}


def _broker_name(url: str) -> str:
    if not url.startswith("memory://"):
        raise ValueError(f"not a memory URL: {url!r}")
    return url.removeprefix("memory://").strip("/")


def broker_for(url: str) -> MemoryBroker:
    """The process's broker for a ``memory://`` URL (created on first use)."""
    name = _broker_name(url)
    if name not in _BROKERS:
        _BROKERS[name] = MemoryBroker()
    return _BROKERS[name]


def forget_broker(url: str) -> None:
    """Drop the process's broker for ``url``, with its queues and messages.

    The next `broker_for` of that URL makes a new, empty one. Test harnesses call this
    when they are done, so that a long test session does not keep every broker.
    """
    _BROKERS.pop(_broker_name(url), None)


class MemoryTransport:
    """The `Transport` over a `MemoryBroker` (``memory://`` URLs)."""

    def __init__(self, url: str = "memory://", broker: MemoryBroker | None = None) -> None:
        """Use ``broker``, or the process's broker for ``url``."""
        self.broker = broker if broker is not None else broker_for(url)
        self._connected = False
        self._subscriptions: list[Subscription] = []

    async def connect(self) -> None:
        """Nothing to connect to; mark the transport open."""
        self._connected = True

    async def close(self) -> None:
        """Close as a connection closes: consumers stop, unsettled messages go back."""
        self._connected = False
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.cancel()
            for delivery in sorted(subscription.unsettled, key=lambda d: d._stored.position):  # noqa: SLF001
                delivery.take_back()

    async def health(self) -> Health:
        """Up while connected."""
        return Health.up("embedded") if self._connected else Health.down("closed")

    async def declare_exchange(self, name: str) -> None:
        """Declare a topic exchange."""
        self.broker.declare_exchange(name)

    async def declare_queue(self, spec: QueueSpec) -> None:
        """Declare the queue, its bindings and its dead-letter queue.

        Raises:
            ConfigurationError: the queue (or its dead-letter queue) exists with other
                arguments, as the RabbitMQ transport raises.
        """
        self.broker.declare_queue(spec.dead_letter_queue, queue_type=spec.queue_type)
        limit = spec.delivery_limit if spec.queue_type is QueueType.QUORUM else None
        self.broker.declare_queue(
            spec.name,
            queue_type=spec.queue_type,
            dead_letter=spec.dead_letter_queue,
            delivery_limit=limit,
        )
        for pattern in spec.patterns:
            self.broker.bind(spec.exchange, spec.name, pattern)

    async def declare_delay_queue(self, spec: QueueSpec, delay_ms: int) -> str:
        """Declare a queue whose messages return to ``spec.name`` after ``delay_ms``."""
        name = spec.delay_queue(delay_ms)
        self.broker.declare_queue(
            name, queue_type=spec.queue_type, dead_letter=spec.name, ttl_ms=delay_ms
        )
        return name

    async def publish(self, exchange: str, message: Outgoing, *, mandatory: bool) -> None:
        """Route the message; the embedded broker confirms at once.

        Raises:
            PublishError: a property RabbitMQ refuses (an expiration that is not a
                whole number of milliseconds, a priority outside 0-255).
            UnroutableError: ``mandatory`` and no queue takes the message.
        """
        self.broker.publish(exchange, message, mandatory=mandatory)

    async def consume(
        self,
        queue: str,
        on_delivery: Callable[[Delivery], Awaitable[None]],
        *,
        prefetch: int,
    ) -> Subscription:
        """Deliver the queue's messages to ``on_delivery``."""
        subscription = self.broker.subscribe(queue, on_delivery, prefetch)
        self._subscriptions.append(subscription)
        return subscription

    async def get(self, queue: str) -> MemoryDelivery | None:
        """Take one message from ``queue``."""
        return self.broker.get(queue)

    async def purge(self, queue: str) -> int:
        """Drop the ready messages of ``queue``."""
        return self.broker.purge(queue)

    async def message_count(self, queue: str) -> int:
        """How many messages are ready in ``queue``."""
        return self.broker.message_count(queue)
