"""The transport Protocol: what a broker must do for the bus, and the types it exchanges.

svckit ships two transports, chosen by URL: `MemoryTransport` (``memory://``) and the
RabbitMQ transport (``amqp://``). Both pass one contract suite. A transport knows nothing
of message models, retries or dead-letter policy; the consumer machinery builds those on
the few operations below.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping
    from datetime import datetime

    from svckit.core.health import Health

__all__ = [
    "Delivery",
    "Headers",
    "Outgoing",
    "QueueSpec",
    "QueueType",
    "Subscription",
    "Transport",
]


class Headers:
    """The names of the headers svckit puts on messages."""

    ATTEMPT = "x-svckit-attempt"
    SCHEMA = "x-svckit-schema"
    REQUEST_ID = "x-request-id"
    ERROR_TYPE = "x-svckit-error-type"
    ERROR_MESSAGE = "x-svckit-error-message"
    ERROR_TRACEBACK = "x-svckit-error-traceback"
    DEAD_LETTERED_AT = "x-svckit-dead-lettered-at"
    QUEUE = "x-svckit-queue"
    ROUTING_KEY = "x-svckit-routing-key"
    REPLAYED = "x-svckit-replayed"
    ORIGINAL_EXPIRATION = "x-svckit-original-expiration"
    ORIGINAL_USER_ID = "x-svckit-original-user-id"
    DROPPED_HEADERS = "x-svckit-dropped-headers"
    DROPPED_PROPERTIES = "x-svckit-dropped-properties"
    TRUNCATED_HEADERS = "x-svckit-truncated-headers"


class QueueType(enum.StrEnum):
    """RabbitMQ queue types: quorum (replicated, the default) or classic."""

    QUORUM = "quorum"
    CLASSIC = "classic"


@dataclass(slots=True)
class Outgoing:
    """A message on its way to the broker: body, routing key and properties."""

    body: bytes
    routing_key: str
    message_id: str | None
    timestamp: datetime | None
    type: str | None = None
    correlation_id: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)
    content_type: str | None = "application/json"
    content_encoding: str | None = None
    priority: int | None = None
    expiration: str | None = None
    reply_to: str | None = None
    app_id: str | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """A consumer's queue: its bindings, its type and where its dead letters go.

    Attributes:
        name: The queue name.
        exchange: The topic exchange the queue binds to.
        patterns: Topic patterns bound to the queue.
        queue_type: Quorum or classic.
        delivery_limit: Deliveries after which the broker itself dead-letters a message
            (a message that crashes its consumer every time); quorum queues only.
    """

    name: str
    exchange: str
    patterns: tuple[str, ...]
    queue_type: QueueType = QueueType.QUORUM
    delivery_limit: int = 20

    @property
    def dead_letter_queue(self) -> str:
        """The name of the queue's dead-letter queue."""
        return f"{self.name}.dlq"

    def delay_queue(self, delay_ms: int) -> str:
        """The name of the queue where retries wait ``delay_ms`` before coming back."""
        return f"{self.name}.delay.{delay_ms}"


class Delivery(Protocol):
    """A message handed to a consumer, to be settled exactly once.

    The attributes are the message's AMQP properties as they arrived (foreign input:
    validate before use); ``headers`` are its application headers.
    """

    body: bytes
    routing_key: str
    headers: Mapping[str, Any]
    message_id: str | None
    type: str | None
    correlation_id: str | None
    timestamp: datetime | None
    redelivered: bool
    content_type: str | None
    content_encoding: str | None
    priority: int | None
    expiration: str | None
    reply_to: str | None
    app_id: str | None
    user_id: str | None
    #: Why the message's frames could not be read as sent (text that is not UTF-8, an
    #: impossible timestamp...), or None; such a message is poison.
    malformed: str | None

    async def ack(self) -> None:
        """The message is done with: the broker forgets it."""
        ...

    async def nack(self, *, requeue: bool) -> None:
        """Give the message back (``requeue``) or drop it to the queue's dead-letter target."""
        ...


class Subscription(Protocol):
    """A running consume on one queue."""

    @property
    def active(self) -> bool:
        """Whether deliveries can arrive (false while the broker is away)."""
        ...

    async def cancel(self) -> None:
        """Stop deliveries; messages already delivered can still be settled."""
        ...


class Transport(Protocol):
    """The operations the bus needs from a broker."""

    async def connect(self) -> None:
        """Open the connection."""
        ...

    async def close(self) -> None:
        """Close the connection; unsettled deliveries return to their queues."""
        ...

    async def health(self) -> Health:
        """Whether the broker is reachable."""
        ...

    async def declare_exchange(self, name: str) -> None:
        """Declare a durable topic exchange."""
        ...

    async def declare_queue(self, spec: QueueSpec) -> None:
        """Declare a consumer queue with its bindings and its dead-letter queue."""
        ...

    async def declare_delay_queue(self, spec: QueueSpec, delay_ms: int) -> str:
        """Declare the queue where messages wait ``delay_ms``, then return to ``spec``."""
        ...

    async def publish(self, exchange: str, message: Outgoing, *, mandatory: bool) -> None:
        """Publish persistently and return once the broker confirms.

        Raises:
            UnroutableError: ``mandatory`` and no queue is bound for the routing key.
            PublishError: the broker refused the message or the connection failed.
        """
        ...

    async def consume(
        self,
        queue: str,
        on_delivery: Callable[[Delivery], Awaitable[None]],
        *,
        prefetch: int,
    ) -> Subscription:
        """Start delivering ``queue``'s messages, at most ``prefetch`` unsettled at once."""
        ...

    async def get(self, queue: str) -> Delivery | None:
        """Take one message from ``queue`` without a consumer, or None when it is empty."""
        ...

    async def purge(self, queue: str) -> int:
        """Delete the ready messages of ``queue``; return how many."""
        ...

    async def message_count(self, queue: str) -> int:
        """How many messages are ready in ``queue``."""
        ...
