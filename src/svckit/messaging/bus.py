"""The message bus: a resource that publishes messages and runs consumers.

::

    bus = Bus("amqp://guest:guest@localhost/", service="users")
    bus.add_consumer(notify)            # a function marked with @consumer
    async with bus:                     # usually the service does this
        await bus.start_consumers()
        await bus.publish(UserCreated(user_id=1, email="a@example.com"))

The URL chooses the transport: ``memory://`` for the embedded broker, ``amqp://`` or
``amqps://`` for RabbitMQ.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from opentelemetry.trace import SpanKind, set_span_in_context

from svckit.core.errors import LifecycleError
from svckit.core.health import Health
from svckit.core.logging import current_request_id, get_logger
from svckit.core.telemetry import (
    MESSAGING_DESTINATION_NAME,
    MESSAGING_MESSAGE_ID,
    MESSAGING_OPERATION_TYPE,
    MESSAGING_RABBITMQ_ROUTING_KEY,
    MESSAGING_SYSTEM,
    inject_context,
    record_failure,
)
from svckit.messaging._consume import Consumer
from svckit.messaging._metrics import BusTelemetry
from svckit.messaging.consumer import ConsumerSpec, bind_handler, spec_of
from svckit.messaging.idempotency import MemoryInbox
from svckit.messaging.transport import Headers, Outgoing

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping
    from types import TracebackType

    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

    from svckit.messaging.idempotency import IdempotencyStore
    from svckit.messaging.message import Message
    from svckit.messaging.transport import Transport

__all__ = ["DEFAULT_EXCHANGE", "Bus", "transport_for_url"]

_log = get_logger("svckit.bus")

#: The topic exchange svckit publishes to unless told otherwise.
DEFAULT_EXCHANGE = "svckit"


def transport_for_url(
    url: str, *, service: str = "svckit", connect_timeout: float | None = None
) -> Transport:
    """Make the transport a URL names: ``memory://...`` or ``amqp(s)://...``.

    ``connect_timeout`` bounds how long connecting to RabbitMQ may take (``None``: the
    transport's default, 10 s).
    """
    if url.startswith("memory://"):
        from svckit.messaging.memory import MemoryTransport  # noqa: PLC0415

        return MemoryTransport(url)
    if url.startswith(("amqp://", "amqps://")):
        from svckit.messaging.amqp import AmqpTransport  # noqa: PLC0415 - needs the worker extra

        if connect_timeout is None:
            return AmqpTransport(url, connection_name=service)
        return AmqpTransport(url, connection_name=service, connect_timeout=connect_timeout)
    scheme = url.partition("://")[0] or url[:10]
    raise ValueError(f"unsupported bus URL scheme {scheme!r}; use memory:// or amqp://")


class Bus:
    """Publishes messages with confirms and runs the consumers added to it.

    Attributes:
        name: ``"bus"``, its name among the service's resources.
        transport: The broker behind it.
        consumers: The consumers added so far.
    """

    name = "bus"

    def __init__(
        self,
        url: str = "memory://",
        *,
        service: str = "svckit",
        exchange: str = DEFAULT_EXCHANGE,
        inbox: IdempotencyStore | None = None,
        transport: Transport | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        """Create the bus; nothing connects until it is entered.

        Args:
            url: ``memory://`` or ``amqp://user:pass@host:port/vhost``.
            service: The service name: queues are named ``<service>.<consumer>``.
            exchange: The topic exchange to publish to and bind from.
            inbox: Where idempotent consumers record processed ids (in memory by
                default; give a cache-backed one to share it between processes).
            transport: A transport to use instead of the one the URL names.
            tracer_provider: Where spans go (the global OpenTelemetry provider by default).
            meter_provider: Where metrics go (the global provider by default).
        """
        self.service = service
        self.exchange = exchange
        self.transport = (
            transport if transport is not None else transport_for_url(url, service=service)
        )
        self.inbox: IdempotencyStore = inbox if inbox is not None else MemoryInbox()
        self.consumers: list[Consumer] = []
        self._telemetry = BusTelemetry(
            service, tracer_provider=tracer_provider, meter_provider=meter_provider
        )
        self._open = False
        self._publish_attributes = {
            MESSAGING_SYSTEM: "rabbitmq",
            MESSAGING_DESTINATION_NAME: exchange,
            MESSAGING_OPERATION_TYPE: "send",
        }

    # ------------------------------------------------------------------ resource

    async def __aenter__(self) -> Self:
        """Connect and declare the exchange."""
        await self.transport.connect()
        try:
            await self.transport.declare_exchange(self.exchange)
        except BaseException:
            await self.transport.close()
            raise
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the connection; unsettled messages return to their queues."""
        self._open = False
        await self.transport.close()

    async def health(self) -> Health:
        """Down when the broker is unreachable or a consumer has lost its subscription."""
        health = await self.transport.health()
        if health.status != "up":
            return health
        lost = [c.name for c in self.consumers if c.started and not c.active]
        if lost:
            return Health.down(f"not consuming: {', '.join(lost)}")
        return health

    # ------------------------------------------------------------------ consumers

    def add_consumer(
        self,
        handler: Callable[..., Awaitable[None]],
        spec: ConsumerSpec | None = None,
    ) -> Consumer:
        """Add a handler marked with `consumer` (or give its ``spec`` here).

        Returns:
            The consumer, an intake the service starts after its resources.
        """
        spec = spec or spec_of(handler)
        if spec is None:
            raise TypeError(f"{handler!r} is not marked with @consumer and no spec was given")
        bound = bind_handler(handler, spec)
        consumer = Consumer(
            bound,
            service=self.service,
            exchange=self.exchange,
            transport=self.transport,
            inbox=self.inbox,
            telemetry=self._telemetry,
        )
        if any(existing.name == consumer.name for existing in self.consumers):
            raise ValueError(f"two consumers are named {consumer.name!r}")
        self.consumers.append(consumer)
        return consumer

    # ------------------------------------------------------------------ publishing

    async def publish(
        self,
        message: Message,
        *,
        message_id: str | None = None,
        correlation_id: str | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        """Publish ``message`` persistently; return once the broker has it.

        Args:
            message: An `Event` or a `Command` with a topic.
            message_id: The id consumers deduplicate by (by default 128 random bits as 32
                hex characters).
            correlation_id: Ties the message to a conversation.
            headers: Extra AMQP headers.

        Returns:
            The message id.

        Raises:
            UnroutableError: a command that no queue receives.
            PublishError: the broker did not take the message.
        """
        if not self._open:
            raise LifecycleError("the bus is not open; enter it (or start the service) first")
        topic = message.topic
        if not topic:
            raise ValueError(f"{type(message).__qualname__} declares no topic")
        message_id = message_id or _new_message_id()
        out_headers: dict[str, Any] = {Headers.SCHEMA: message.schema_version}
        if headers:
            out_headers.update(headers)
        request_id = current_request_id()
        if request_id is not None:
            out_headers.setdefault(Headers.REQUEST_ID, request_id)
        outgoing = Outgoing(
            body=message.__pydantic_serializer__.to_json(message),
            routing_key=topic,
            message_id=message_id,
            timestamp=datetime.now(UTC),
            type=topic,
            correlation_id=correlation_id,
            headers=out_headers,
        )
        if not self._telemetry.tracing:
            # Nothing records spans: pass the current trace context on, and only that.
            inject_context(out_headers)
            await self.transport.publish(self.exchange, outgoing, mandatory=message.requires_route)
        else:
            # A span that is not made current: nothing runs inside it but I/O.
            span = self._telemetry.tracer.start_span(
                f"{topic} publish",
                kind=SpanKind.PRODUCER,
                attributes={
                    **self._publish_attributes,
                    MESSAGING_MESSAGE_ID: message_id,
                    MESSAGING_RABBITMQ_ROUTING_KEY: topic,
                },
            )
            try:
                inject_context(out_headers, set_span_in_context(span))
                await self.transport.publish(
                    self.exchange, outgoing, mandatory=message.requires_route
                )
            except Exception as exc:
                record_failure(span, exc)
                raise
            finally:
                span.end()
        self._telemetry.published.add(1, {"topic": topic})
        return message_id


def _new_message_id() -> str:
    # 128 random bits as hex, like a UUID4 without its cost: ids need uniqueness, not
    # secrecy (the random module is reseeded in forked processes).
    return f"{random.getrandbits(128):032x}"
