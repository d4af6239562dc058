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
from collections import deque
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
from pamqp import commands as spec  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
    from datetime import datetime

    from aiormq.abc import DeliveredMessage

    from svckit.messaging.transport import Delivery, Outgoing

__all__ = ["AmqpTransport"]

_log = get_logger("svckit.amqp")

#: Errors that mean "the connection or channel went away": worth a retry once it is back.
_CONNECTION_ERRORS = (
    aiormq.exceptions.AMQPConnectionError,
    aiormq.exceptions.ChannelInvalidStateError,
    aiormq.exceptions.ChannelClosed,
    ConnectionError,
    TimeoutError,
)
#: How a publish cut by a lost connection is tried again.
PUBLISH_RETRY = RetryPolicy(
    attempts=8, initial_delay=0.2, max_delay=5.0, deadline=60.0, retry_on=_CONNECTION_ERRORS
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
    ) -> None:
        """Remember the URL; `connect` opens the connection.

        Args:
            url: ``amqp://user:pass@host:port/vhost`` (or ``amqps://``).
            connection_name: Shown in RabbitMQ's management tools.
            watchdog_interval: Seconds between checks that each consumer is registered.
        """
        self._url = url
        self.watchdog_interval = watchdog_interval
        self._connection_name = connection_name
        self._connection: Any = None
        self._channel: Any = None  # topology and publishing
        self._underlay: Any = None  # the publishing channel's current aiormq channel
        self._declared_delays: set[str] = set()
        self._specs: dict[str, QueueSpec] = {}
        self._subscriptions: list[_Subscription] = []

    async def connect(self) -> None:
        """Open a robust connection and the publishing channel."""
        try:
            self._connection = await aio_pika.connect_robust(
                self._url,
                client_properties={"connection_name": self._connection_name},
                reconnect_interval=1,
            )
            self._channel = await self._connection.channel(
                publisher_confirms=True, on_return_raises=True
            )
        except (aiormq.exceptions.AMQPError, OSError) as exc:
            # The URL's password must not reach the message: name the host only.
            raise MessagingError(f"cannot connect to RabbitMQ: {type(exc).__name__}") from exc

    async def close(self) -> None:
        """Stop the watchdogs and close the connection."""
        for subscription in self._subscriptions:
            await subscription.close()
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
            except _CONNECTION_ERRORS:
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
        except _CONNECTION_ERRORS as exc:
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
        # timeout turns it into a connection error, and the caller sends it again.
        async with asyncio.timeout(PUBLISH_TIMEOUT):
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
    ) -> _Subscription:
        """Consume ``queue`` on a channel of its own."""
        channel = await self._connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=prefetch)
        subscription = _Subscription(self, channel, queue, on_delivery, prefetch)
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
        return _GetDelivery(message, channel)

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
    except _CONNECTION_ERRORS as exc:
        raise MessagingError(f"broker unavailable: {type(exc).__name__}") from exc


class _Acks:
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
        self._send(self._channel.basic_nack(tag, requeue=requeue, wait=False))
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if not self.live:
            return
        last = self._advance()
        if last is not None:
            self._send(self._channel.basic_ack(last, multiple=True, wait=False))
        if self._done >= self._flush_at:
            # A slow delivery holds the head: ack the finished ones one by one, so the
            # broker's prefetch window does not fill with work that is already done.
            waiting = [tag for tag, value in self._state.items() if value == self.DONE]
            for tag in waiting:
                self._state[tag] = self.SETTLED
                self._send(self._channel.basic_ack(tag, wait=False))
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

    def _send(self, frame: Coroutine[Any, Any, None]) -> None:
        # aiormq's send buffer is a bounded queue, and a frame made later can overtake one
        # waiting for room in it: chain the sends so that they go out in order.
        previous = self._last

        async def in_order() -> None:
            if previous is not None and not previous.done():
                await asyncio.wait([previous])
            await frame

        task = self._last = self._loop.create_task(in_order())
        task.add_done_callback(_log_send_failure)


def _log_send_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.debug("ack not sent; the broker requeues on channel close", exc_info=task.exception())


class _AmqpDelivery:
    __slots__ = (
        "_acks",
        "_settled",
        "body",
        "correlation_id",
        "headers",
        "message_id",
        "redelivered",
        "routing_key",
        "tag",
        "timestamp",
        "type",
    )

    def __init__(self, message: DeliveredMessage, acks: _Acks) -> None:
        properties = message.header.properties
        self.body: bytes = message.body
        self.routing_key: str = message.routing_key or ""
        self.headers: Mapping[str, Any] = properties.headers or {}
        self.message_id: str | None = properties.message_id
        self.type: str | None = properties.message_type
        self.correlation_id: str | None = properties.correlation_id
        self.timestamp: datetime | None = properties.timestamp
        self.redelivered: bool = bool(message.redelivered)
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


class _GetDelivery(_AmqpDelivery):
    """A message taken with basic.get, settled on its own.

    Several may be held at once on the shared channel (a dead-letter listing), so a
    ``multiple`` ack, which would settle them all, must never be sent for one of them.
    """

    __slots__ = ("_channel",)

    def __init__(self, message: DeliveredMessage, channel: Any) -> None:
        super().__init__(message, _Acks(channel, 1))
        self._channel = channel

    async def ack(self) -> None:
        self._settle()
        await self._channel.basic_ack(self.tag)

    async def nack(self, *, requeue: bool) -> None:
        self._settle()
        await self._channel.basic_nack(self.tag, requeue=requeue)


class _Subscription:
    """basic.consume on one channel, restored after reconnects by itself and a watchdog."""

    def __init__(
        self,
        transport: AmqpTransport,
        channel: Any,
        queue: str,
        on_delivery: Callable[[Delivery], Awaitable[None]],
        prefetch: int,
    ) -> None:
        self._transport = transport
        self._channel = channel  # aio-pika RobustChannel
        self._queue = queue
        self._on_delivery = on_delivery
        self._prefetch = prefetch
        self._underlay: Any = None
        self._tag: str | None = None
        self._acks: _Acks | None = None
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
            acks = _Acks(underlay, self._prefetch)
            on_delivery = self._on_delivery

            async def deliver(message: DeliveredMessage) -> None:
                await on_delivery(_AmqpDelivery(message, acks))

            underlay.on_consumer_cancel_callbacks.add(self._on_broker_cancel)
            ok = await underlay.basic_consume(self._queue, deliver, no_ack=False)
            self._underlay, self._acks, self._tag = underlay, acks, ok.consumer_tag
            _log.debug("consuming", queue=self._queue)

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
            with contextlib.suppress(*_CONNECTION_ERRORS):
                await underlay.basic_cancel(tag)

    async def close(self) -> None:
        self._cancelled = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
