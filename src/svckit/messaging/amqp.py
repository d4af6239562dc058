"""The RabbitMQ transport, on aio-pika's robust connections.

Publishers and consumers use separate connections, as RabbitMQ advises: a consumer
connection lost to a bad message, or blocked by the broker's flow control, never stops
publishing, and a publisher's full buffer never delays an acknowledgement.

- The **publishing connection** has three channels: one for topology (exchanges, queues,
  bindings, declared again by aio-pika after a reconnect), one for publishing, and one for
  the operations `get`, `purge` and `message_count`, whose errors (a missing queue)
  close only their own channel. Publishing waits for the publisher confirm, with many
  publishes in flight on one channel; a command that no queue receives comes back as
  `UnroutableError`; a publish cut by a lost connection is sent again once the
  connection is back (same message id, so idempotent consumers drop a duplicate). One
  deadline covers the whole publish, the wait for a connection included.
- The **consuming connection** gives each consumer a channel of its own (prefetch and
  delivery tags are per channel); a delivery is acknowledged as soon as its handler is
  done, whatever still runs before it (see `ChannelAcks` for when several finished ones
  share one ``multiple`` ack). After a reconnect, or when the broker cancels a consumer, the
  subscription declares its queue again and consumes again; a watchdog checks every
  second that the subscription is still registered on a live channel.

Frames that pamqp cannot decode (text that is not UTF-8, a timestamp past the year 9999)
are decoded leniently on svckit's connections and the delivery is marked ``malformed``
(see `svckit.messaging._amqp_frames`), instead of closing the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
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

aio_pika = require("aio_pika", "worker")

import aiormq  # noqa: E402 - installed with aio_pika, checked just above
from pamqp import commands as spec  # noqa: E402

from svckit.messaging._amqp_acks import GetDelivery  # noqa: E402
from svckit.messaging._amqp_connection import (  # noqa: E402
    ConnectionLog,
    describe_url,
    open_connection,
    quiet_reconnect_logs,
)
from svckit.messaging._amqp_frames import (  # noqa: E402
    HEADER_FRAME_OVERHEAD,
    FrameGuard,
    encode_properties,
)
from svckit.messaging._amqp_subscription import CONNECTION_ERRORS, Subscription  # noqa: E402
from svckit.messaging._amqp_topology import declare_delay_queue, declare_queue  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from svckit.messaging.transport import Delivery, Outgoing, QueueSpec

__all__ = ["AmqpTransport"]

_log = get_logger("svckit.amqp")

#: How a publish cut by a lost connection is tried again: as often as its deadline allows.
PUBLISH_RETRY = RetryPolicy(
    attempts=1_000_000, initial_delay=0.2, max_delay=5.0, retry_on=CONNECTION_ERRORS
)
WATCHDOG_INTERVAL = 1.0
#: The longest one publish may take, the wait for a connection and the confirm included.
PUBLISH_TIMEOUT = 30.0
#: The longest `connect` may take.
CONNECT_TIMEOUT = 10.0
#: RabbitMQ's default frame size, assumed until a connection says otherwise.
DEFAULT_FRAME_MAX = 131_072


class AmqpTransport:
    """The `Transport` for RabbitMQ (``amqp://`` and ``amqps://`` URLs).

    Attributes:
        max_header_bytes: The largest encoded size, in bytes, of a message's properties and
            headers together that fits the connection's negotiated frame size; a publish
            whose properties encode larger raises `PublishError` before anything is sent.
    """

    def __init__(
        self,
        url: str,
        *,
        connection_name: str = "svckit",
        watchdog_interval: float = WATCHDOG_INTERVAL,
        connect_timeout: float = CONNECT_TIMEOUT,
        publish_timeout: float = PUBLISH_TIMEOUT,
    ) -> None:
        """Remember the URL; `connect` opens the connections.

        Args:
            url: ``amqp://user:pass@host:port/vhost`` (or ``amqps://``).
            connection_name: Shown in RabbitMQ's management tools (with ``.publish`` and
                ``.consume`` after it).
            watchdog_interval: Seconds between checks that each consumer is registered.
            connect_timeout: Seconds `connect` may take (and each reconnect attempt).
            publish_timeout: Seconds one `publish` may take, from the call to the confirm,
                waiting for a lost connection included; past it, `PublishError`.
        """
        if connect_timeout <= 0 or publish_timeout <= 0:
            raise ValueError("connect_timeout and publish_timeout must be positive")
        self._url = url
        self.watchdog_interval = watchdog_interval
        self.connect_timeout = connect_timeout
        self.publish_timeout = publish_timeout
        self.max_header_bytes = DEFAULT_FRAME_MAX - HEADER_FRAME_OVERHEAD
        self._connection_name = connection_name
        self._publisher: Any = None  # the publishing connection (and topology)
        self._consumer: Any = None  # the consuming connection
        self._logs: list[ConnectionLog] = []
        self._topology: Any = None  # aio-pika channel for declarations
        self._channel: Any = None  # aio-pika channel for publishing
        self._underlay: Any = None  # the publishing channel's current aiormq channel
        self._ops: Any = None  # aiormq channel for get, purge and message_count
        self._declared_delays: set[str] = set()
        self._specs: dict[str, QueueSpec] = {}
        self._subscriptions: list[Subscription] = []
        self._guard = FrameGuard()

    @property
    def _connection(self) -> Any:
        """The consuming connection (the watchdog's view)."""
        return self._consumer

    async def connect(self) -> None:
        """Open the publishing and the consuming connection, each within the timeout.

        Raises:
            MessagingError: one line naming the broker (scheme, host and port) and why.
        """
        quiet_reconnect_logs()
        broker = describe_url(self._url)
        try:
            with FrameGuard().active():
                self._publisher = await open_connection(
                    self._url, name=f"{self._connection_name}.publish", timeout=self.connect_timeout
                )
            # The consumers' own guard: it tells them which channel lost the connection.
            with self._guard.active():
                self._consumer = await open_connection(
                    self._url, name=f"{self._connection_name}.consume", timeout=self.connect_timeout
                )
            self._logs = [
                ConnectionLog(self._publisher, role="publish", broker=broker),
                ConnectionLog(self._consumer, role="consume", broker=broker),
            ]
            async with asyncio.timeout(self.connect_timeout):
                self._topology = await self._publisher.channel(publisher_confirms=False)
                self._channel = await self._publisher.channel(
                    publisher_confirms=True, on_return_raises=True
                )
                self._learn_frame_max(await self._channel.get_underlay_channel())
        except (aiormq.exceptions.AMQPError, OSError) as exc:
            await self.close()
            raise MessagingError(
                f"cannot open channels on RabbitMQ at {broker}: {type(exc).__name__}"
            ) from exc
        except BaseException:
            await self.close()
            raise

    def _learn_frame_max(self, underlay: Any) -> None:
        frame_max = int(underlay.connection.connection_tune.frame_max or 0)
        # Zero means no limit; the frame size field still has 32 bits.
        self.max_header_bytes = (frame_max or 2**32 - 1) - HEADER_FRAME_OVERHEAD

    async def close(self) -> None:
        """Stop the watchdogs and close both connections."""
        for subscription in self._subscriptions:
            await subscription.close()
        for name in ("_consumer", "_publisher"):
            connection = getattr(self, name)
            setattr(self, name, None)
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()

    async def health(self) -> Health:
        """Up while both connections are open, down while one reconnects."""
        for connection in (self._publisher, self._consumer):
            if connection is None or connection.is_closed:
                return Health.down("not connected")
            if not connection.connected.is_set():
                return Health.down("reconnecting to RabbitMQ")
        return Health.up()

    # ------------------------------------------------------------------ topology

    async def declare_exchange(self, name: str) -> None:
        """Declare a durable topic exchange."""
        await self._topology.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)

    async def declare_queue(self, spec: QueueSpec) -> None:
        """Declare the dead-letter queue, the queue (with its limits) and its bindings.

        Raises:
            ConfigurationError: the queue exists with other arguments (another queue type
                or delivery limit); RabbitMQ cannot change them in place.
        """
        self._specs[spec.name] = spec
        try:
            await declare_queue(self._topology, spec)
        except aiormq.exceptions.ChannelPreconditionFailed as exc:
            raise ConfigurationError(
                f"queue {spec.name!r} (or its dead-letter queue) already exists with other "
                f"arguments than queue_type={spec.queue_type.value!r}, "
                f"delivery_limit={spec.delivery_limit}; RabbitMQ cannot change them in place: "
                "drain and delete the queue, or keep the old settings",
            ) from exc

    async def declare_delay_queue(self, spec: QueueSpec, delay_ms: int) -> str:
        """Declare a queue whose messages expire after ``delay_ms`` back into ``spec``."""
        name = spec.delay_queue(delay_ms)
        if name not in self._declared_delays:
            await declare_delay_queue(self._topology, spec, delay_ms)
            self._declared_delays.add(name)
        return name

    # ------------------------------------------------------------------ publishing

    async def publish(self, exchange: str, message: Outgoing, *, mandatory: bool) -> None:
        """Publish persistently and wait for the confirm; resend after a lost connection.

        Raises:
            UnroutableError: ``mandatory`` and no queue is bound for the routing key.
            PublishError: the broker refused the message, its properties do not fit the
                frame size, or no confirm came within ``publish_timeout`` seconds.
        """
        properties = encode_properties(
            self.max_header_bytes,
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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.publish_timeout
        try:
            async with asyncio.timeout_at(deadline):
                try:
                    confirmation = await self._publish_once(
                        exchange, message, properties, mandatory
                    )
                except CONNECTION_ERRORS:
                    # The slow path: wait for the robust connection to come back and resend;
                    # no try starts past the deadline, which also cuts off the one running.
                    remaining = max(deadline - loop.time(), 0.001)
                    async for attempt in dataclasses.replace(PUBLISH_RETRY, deadline=remaining):
                        with attempt:
                            confirmation = await self._publish_once(
                                exchange, message, properties, mandatory
                            )
        except aiormq.exceptions.PublishError as exc:
            raise UnroutableError(
                f"no queue is bound for {message.routing_key!r} on exchange {exchange!r}",
            ) from exc
        except TimeoutError as exc:
            raise PublishError(
                f"no confirm from RabbitMQ within {self.publish_timeout:g} s"
            ) from exc
        except CONNECTION_ERRORS as exc:
            raise PublishError(
                f"no confirm from RabbitMQ within {self.publish_timeout:g} s "
                f"(the connection is lost: {type(exc).__name__})"
            ) from exc
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
            if self._channel is None:
                raise PublishError("the RabbitMQ transport is not connected")
            channel = await self._channel.get_underlay_channel()
            self._learn_frame_max(channel)
            self._underlay = channel
        return await channel.basic_publish(
            message.body,
            exchange=exchange,
            routing_key=message.routing_key,
            properties=properties,
            mandatory=mandatory,
            wait=False,  # the confirm is the wait that matters
        )

    # ------------------------------------------------------------------ consuming

    async def consume(
        self,
        queue: str,
        on_delivery: Callable[[Delivery], Awaitable[None]],
        *,
        prefetch: int,
    ) -> Subscription:
        """Consume ``queue`` on a channel of its own, on the consuming connection."""
        channel = await self._consumer.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=prefetch)
        subscription = Subscription(self, channel, queue, on_delivery, prefetch, guard=self._guard)
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

    async def _ops_channel(self) -> Any:
        """A channel of its own for operations: a missing queue closes only this one."""
        channel = self._ops
        if channel is None or channel.is_closed:
            transport = self._publisher.transport if self._publisher is not None else None
            if transport is None:
                raise aiormq.exceptions.ChannelInvalidStateError("not connected")
            channel = self._ops = await transport.connection.channel(publisher_confirms=False)
        return channel

    async def get(self, queue: str) -> Delivery | None:
        """Take one message from ``queue`` (it must be settled)."""
        async with _queue_errors(queue):
            channel = await self._ops_channel()
            message = await channel.basic_get(queue, no_ack=False)
        if not isinstance(message.delivery, spec.Basic.GetOk):
            return None
        return GetDelivery(message, channel)

    async def purge(self, queue: str) -> int:
        """Delete the ready messages of ``queue``."""
        async with _queue_errors(queue):
            channel = await self._ops_channel()
            result = await channel.queue_purge(queue)
        return int(result.message_count or 0)

    async def message_count(self, queue: str) -> int:
        """How many messages are ready in ``queue``."""
        async with _queue_errors(queue):
            channel = await self._ops_channel()
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
