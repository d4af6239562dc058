"""The RabbitMQ transport, on aio-pika's robust connection.

Topology (exchanges, queues, bindings) is declared through aio-pika, which declares it
again after a reconnect. The hot paths talk to the channel underneath directly:

- publishing waits for the publisher confirm, with many publishes in flight on one
  channel; a command that no queue receives comes back as `UnroutableError`; a publish
  cut by a lost connection is sent again once the connection is back (same message id,
  so idempotent consumers drop a duplicate);
- each consumer has a channel of its own (prefetch and delivery tags are per channel);
  acknowledgements of contiguous finished deliveries are coalesced into one
  ``multiple`` ack, and a delivery finished behind a slow one is acknowledged alone once
  enough wait behind it, so a slow handler never stalls the prefetch window;
- after a reconnect, or when the broker cancels a consumer, the subscription declares
  its queue again and consumes again; a watchdog checks every second that the
  subscription is still registered on a live channel.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from svckit.core._extras import require
from svckit.core.errors import (
    ConfigurationError,
    MessagingError,
    PublishError,
    UnroutableError,
)
from svckit.core.health import Health
from svckit.core.logging import get_logger
from svckit.core.retry import RetryPolicy
from svckit.messaging.transport import QueueSpec, QueueType

aio_pika = require("aio_pika", "worker")

import aiormq  # noqa: E402 - installed with aio_pika, checked just above
from aio_pika.connection import make_url  # noqa: E402
from pamqp import commands as spec  # noqa: E402

from svckit.messaging._amqp_acks import GetDelivery  # noqa: E402
from svckit.messaging._amqp_deadline import PublishDeadline  # noqa: E402
from svckit.messaging._amqp_subscription import CONNECTION_ERRORS, Subscription  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from svckit.messaging.transport import Delivery, Outgoing

__all__ = ["AmqpTransport"]

_log = get_logger("svckit.amqp")

#: How a publish cut by a lost connection is tried again.
PUBLISH_RETRY = RetryPolicy(
    attempts=8, initial_delay=0.2, max_delay=5.0, deadline=60.0, retry_on=CONNECTION_ERRORS
)
WATCHDOG_INTERVAL = 1.0
#: The longest one publish may wait for its confirm before it counts as lost and is resent.
PUBLISH_TIMEOUT = 10.0


def _queue_arguments(queue_type: QueueType, **extra: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"x-queue-type": queue_type.value}
    if queue_type is QueueType.QUORUM and "x-dead-letter-routing-key" in extra:
        # Quorum queues dead-letter at least once only with reject-publish overflow.
        args["x-dead-letter-strategy"] = "at-least-once"
        args["x-overflow"] = "reject-publish"
    args.update(extra)
    return args


class AmqpTransport:
    """The `Transport` for RabbitMQ (``amqp://`` and ``amqps://`` URLs)."""

    def __init__(
        self,
        url: str,
        *,
        connection_name: str = "svckit",
        watchdog_interval: float = WATCHDOG_INTERVAL,
        connect_timeout: float | None = None,
    ) -> None:
        """Remember the URL; `connect` opens the connection.

        Args:
            url: ``amqp://user:pass@host:port/vhost`` (or ``amqps://``).
            connection_name: Shown in RabbitMQ's management tools.
            watchdog_interval: Seconds between checks that each consumer is registered.
            connect_timeout: Seconds that `connect` may take before it fails (a port that
                accepts TCP but never speaks AMQP); ``None`` waits as long as aio-pika does.
        """
        self.connect_timeout = connect_timeout
        self._url = url
        self.watchdog_interval = watchdog_interval
        self._connection_name = connection_name
        self._connection: Any = None
        self._channel: Any = None  # topology and publishing
        self._underlay: Any = None  # the publishing channel's current aiormq channel
        self._declared_delays: set[str] = set()
        self._specs: dict[str, QueueSpec] = {}
        self._subscriptions: list[Subscription] = []
        self._deadline = PublishDeadline(PUBLISH_TIMEOUT)

    async def connect(self) -> None:
        """Open a robust connection and the publishing channel.

        Within ``connect_timeout`` seconds, or not at all: a failed or cancelled attempt
        closes the connection, so that no reconnecting task outlives it.
        """
        # connect_robust() by hand, to hold the connection while it connects.
        connection = aio_pika.RobustConnection(
            make_url(self._url, reconnect_interval=1),
            client_properties={"connection_name": self._connection_name},
            reconnect_interval=1,
        )
        try:
            async with asyncio.timeout(self.connect_timeout):
                await connection.connect()
                self._channel = await connection.channel(
                    publisher_confirms=True, on_return_raises=True
                )
        except BaseException as exc:
            await connection.close()
            if isinstance(exc, TimeoutError):
                raise MessagingError(
                    f"cannot connect to RabbitMQ: no answer within {self.connect_timeout}s"
                ) from exc
            if isinstance(exc, aiormq.exceptions.AMQPError | OSError):
                # The URL's password must not reach the message: name the host only.
                raise MessagingError(f"cannot connect to RabbitMQ: {type(exc).__name__}") from exc
            raise
        self._connection = connection

    async def close(self) -> None:
        """Stop the watchdogs and close the connection."""
        for subscription in self._subscriptions:
            await subscription.close()
        await self._deadline.close()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def health(self) -> Health:
        """Up while the connection is open, down while it reconnects."""
        connection = self._connection
        if connection is None or connection.is_closed:
            return Health.down("not connected")
        if not connection.connected.is_set():
            return Health.down("reconnecting to RabbitMQ")
        return Health.up()

    # ------------------------------------------------------------------ topology

    async def declare_exchange(self, name: str) -> None:
        """Declare a durable topic exchange."""
        await self._channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)

    async def declare_queue(self, spec: QueueSpec) -> None:
        """Declare the dead-letter queue, the queue (with its limits) and its bindings.

        Raises:
            ConfigurationError: the queue exists with other arguments (another queue type
                or delivery limit); RabbitMQ cannot change them in place.
        """
        self._specs[spec.name] = spec
        try:
            await self._declare_queue(spec)
        except aiormq.exceptions.ChannelPreconditionFailed as exc:
            raise ConfigurationError(
                f"queue {spec.name!r} (or its dead-letter queue) already exists with other "
                f"arguments than queue_type={spec.queue_type.value!r}, "
                f"delivery_limit={spec.delivery_limit}; RabbitMQ cannot change them in place: "
                "drain and delete the queue, or keep the old settings",
            ) from exc

    async def _declare_queue(self, spec: QueueSpec) -> None:
        await self._channel.declare_queue(
            spec.dead_letter_queue, durable=True, arguments=_queue_arguments(spec.queue_type)
        )
        extra: dict[str, Any] = {
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": spec.dead_letter_queue,
        }
        if spec.queue_type is QueueType.QUORUM:
            extra["x-delivery-limit"] = spec.delivery_limit
        queue = await self._channel.declare_queue(
            spec.name, durable=True, arguments=_queue_arguments(spec.queue_type, **extra)
        )
        for pattern in spec.patterns:
            await queue.bind(spec.exchange, routing_key=pattern)

    async def declare_delay_queue(self, spec: QueueSpec, delay_ms: int) -> str:
        """Declare a queue whose messages expire after ``delay_ms`` back into ``spec``."""
        name = spec.delay_queue(delay_ms)
        if name not in self._declared_delays:
            await self._channel.declare_queue(
                name,
                durable=True,
                arguments=_queue_arguments(
                    spec.queue_type,
                    **{
                        "x-message-ttl": delay_ms,
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": spec.name,
                    },
                ),
            )
            self._declared_delays.add(name)
        return name

    # ------------------------------------------------------------------ publishing

    async def publish(self, exchange: str, message: Outgoing, *, mandatory: bool) -> None:
        """Publish persistently and wait for the confirm; resend after a lost connection."""
        properties = spec.Basic.Properties(
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            priority=message.priority,
            expiration=message.expiration,
            reply_to=message.reply_to,
            app_id=message.app_id,
            user_id=message.user_id,
            delivery_mode=2,
            headers=message.headers,
            message_id=message.message_id,
            timestamp=message.timestamp,
            message_type=message.type,
            correlation_id=message.correlation_id,
        )
        try:
            try:
                confirmation = await self._publish_once(exchange, message, properties, mandatory)
            except CONNECTION_ERRORS:
                # The slow path: wait for the robust connection to come back and resend.
                async for attempt in PUBLISH_RETRY:
                    with attempt:
                        confirmation = await self._publish_once(
                            exchange, message, properties, mandatory
                        )
        except aiormq.exceptions.PublishError as exc:
            raise UnroutableError(
                f"no queue is bound for {message.routing_key!r} on exchange {exchange!r}",
            ) from exc
        except CONNECTION_ERRORS as exc:
            raise PublishError(f"publish failed: {type(exc).__name__}") from exc
        if not isinstance(confirmation, spec.Basic.Ack):
            raise PublishError(f"the broker refused the message ({type(confirmation).__name__})")

    async def _publish_once(
        self,
        exchange: str,
        message: Outgoing,
        properties: spec.Basic.Properties,
        mandatory: bool,  # noqa: FBT001 - private, positional for speed
    ) -> Any:
        channel = self._underlay
        if channel is None or channel.is_closed:
            channel = self._underlay = await self._channel.get_underlay_channel()
        # A publish caught in a dead connection's full send buffer would wait for ever: the
        # deadline turns it into a connection error, and the caller sends it again.
        return await self._deadline.run(
            channel.basic_publish(
                message.body,
                exchange=exchange,
                routing_key=message.routing_key,
                properties=properties,
                mandatory=mandatory,
                wait=False,  # the confirm is the wait that matters
            )
        )

    # ------------------------------------------------------------------ consuming

    async def consume(
        self,
        queue: str,
        on_delivery: Callable[[Delivery], Awaitable[None]],
        *,
        prefetch: int,
    ) -> Subscription:
        """Consume ``queue`` on a channel of its own."""
        channel = await self._connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=prefetch)
        subscription = Subscription(self, channel, queue, on_delivery, prefetch)
        await subscription.start()
        self._subscriptions.append(subscription)
        return subscription

    async def check_subscriptions(self) -> None:
        """Run one watchdog pass over every subscription now."""
        for subscription in self._subscriptions:
            await subscription.check()

    async def redeclare(self, queue: str) -> None:
        """Declare a consumer's queue and bindings again (after the broker lost them)."""
        spec = self._specs.get(queue)
        if spec is not None:
            await self.declare_queue(spec)

    # ------------------------------------------------------------------ operations

    async def get(self, queue: str) -> Delivery | None:
        """Take one message from ``queue`` (it must be settled)."""
        async with _queue_errors(queue):
            channel = await self._channel.get_underlay_channel()
            message = await channel.basic_get(queue, no_ack=False)
        if not isinstance(message.delivery, spec.Basic.GetOk):
            return None
        return GetDelivery(message, channel)

    async def purge(self, queue: str) -> int:
        """Delete the ready messages of ``queue``."""
        async with _queue_errors(queue):
            channel = await self._channel.get_underlay_channel()
            result = await channel.queue_purge(queue)
        return int(result.message_count or 0)

    async def message_count(self, queue: str) -> int:
        """How many messages are ready in ``queue``."""
        async with _queue_errors(queue):
            channel = await self._channel.get_underlay_channel()
            result = await channel.queue_declare(queue, passive=True)
        return int(result.message_count or 0)


@contextlib.asynccontextmanager
async def _queue_errors(queue: str) -> AsyncIterator[None]:
    try:
        yield
    except aiormq.exceptions.ChannelNotFoundEntity as exc:
        raise MessagingError(f"no queue {queue!r}") from exc
    except CONNECTION_ERRORS as exc:
        raise MessagingError(f"broker unavailable: {type(exc).__name__}") from exc
