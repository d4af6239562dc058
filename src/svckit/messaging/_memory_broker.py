"""The embedded broker itself: exchanges, queues, routing, expiry and dead letters.

`svckit.messaging.memory` exposes it (`MemoryBroker`) with its transport; the pieces it
is made of (stored messages, deliveries, subscriptions) are in `_memory_parts`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from typing import TYPE_CHECKING

from svckit.core.errors import (
    ConfigurationError,
    MessagingError,
    PublishError,
    UnroutableError,
)
from svckit.messaging._memory_parts import (
    MemoryDelivery,
    Queue,
    Stored,
    Subscription,
    record_death,
    stored_copy,
    to_outgoing,
)
from svckit.messaging.topics import topic_matches
from svckit.messaging.transport import QueueType

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from svckit.messaging.transport import Delivery, Outgoing

__all__ = ["PUBLISHED_KEPT", "MemoryBroker"]

#: How many of the latest published messages a broker keeps for tests to read.
PUBLISHED_KEPT = 10_000
#: How many routing decisions a broker remembers.
_ROUTES_KEPT = 4096
#: The largest priority an AMQP message can carry (an octet).
_MAX_PRIORITY = 255


class MemoryBroker:
    """One in-process broker: exchanges, queues and what was published.

    Attributes:
        published: The messages accepted by `publish`, oldest first: the latest
            `PUBLISHED_KEPT`, so that a long-running embedded service does not grow.
        published_count: How many messages were accepted in all.
    """

    def __init__(self) -> None:
        """Start empty."""
        self._bindings: dict[str, list[tuple[str, str]]] = {}
        self._queues: dict[str, Queue] = {}
        # Which queues a routing key reaches, per exchange; cleared when bindings change.
        self._routes: dict[tuple[str, str], tuple[str, ...]] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._unacked = 0
        self._tags = itertools.count(1)
        self._positions = itertools.count()
        # Futures, not an Event: one broker outlives the event loops of many tests.
        self._idle_waiters: list[asyncio.Future[None]] = []
        self.published: deque[Outgoing] = deque(maxlen=PUBLISHED_KEPT)
        self.published_count = 0

    # ------------------------------------------------------------------ topology

    def declare_exchange(self, name: str) -> None:
        """Declare a topic exchange (idempotent)."""
        self._bindings.setdefault(name, [])

    def declare_queue(
        self,
        name: str,
        *,
        queue_type: QueueType = QueueType.QUORUM,
        dead_letter: str | None = None,
        ttl_ms: int | None = None,
        delivery_limit: int | None = None,
    ) -> None:
        """Declare a queue; declaring it again with the same arguments does nothing.

        Raises:
            ConfigurationError: the queue exists with other arguments (queue type,
                dead-letter target, message TTL or delivery limit), which RabbitMQ
                refuses too (``PRECONDITION_FAILED``) as it cannot change them in place.
        """
        wanted = Queue(name, queue_type, dead_letter, ttl_ms, delivery_limit)
        existing = self._queues.get(name)
        if existing is None:
            self._queues[name] = wanted
        elif existing.arguments != wanted.arguments:
            raise ConfigurationError(
                f"queue {name!r} already exists with other arguments "
                f"({_describe(existing)}) than {_describe(wanted)}; RabbitMQ cannot "
                "change them in place: drain and delete the queue, or keep the old settings",
            )

    def bind(self, exchange: str, queue: str, pattern: str) -> None:
        """Route messages whose topic matches ``pattern`` from ``exchange`` to ``queue``."""
        if exchange not in self._bindings:
            raise MessagingError(f"no exchange {exchange!r}")
        if queue not in self._queues:
            raise MessagingError(f"no queue {queue!r}")
        if (pattern, queue) not in self._bindings[exchange]:
            self._bindings[exchange].append((pattern, queue))
            self._routes.clear()

    def delete_queue(self, name: str) -> None:
        """Delete a queue, its messages and its bindings."""
        self._queues.pop(name, None)
        self._routes.clear()
        for bindings in self._bindings.values():
            bindings[:] = [(p, q) for p, q in bindings if q != name]
        self._check_idle()

    # ------------------------------------------------------------------ messages

    def publish(self, exchange: str, message: Outgoing, *, mandatory: bool) -> None:
        """Route ``message``; raise `UnroutableError` if ``mandatory`` and no queue takes it.

        Raises:
            PublishError: a property RabbitMQ refuses (see `MemoryTransport.publish`).
        """
        if message.expiration is not None or message.priority is not None:
            _check_properties(message)
        targets = self._routes.get((exchange, message.routing_key))
        if targets is None:
            targets = self._route(exchange, message.routing_key)
        if not targets and mandatory:
            raise UnroutableError(
                f"no queue is bound for {message.routing_key!r} on exchange {exchange!r}",
            )
        self.published.append(message)
        self.published_count += 1
        for name in targets:
            self._enqueue(self._queues[name], stored_copy(message))

    def _route(self, exchange: str, routing_key: str) -> tuple[str, ...]:
        if not exchange:  # the default exchange: the routing key names the queue
            return (routing_key,) if routing_key in self._queues else ()
        if exchange not in self._bindings:
            raise MessagingError(f"no exchange {exchange!r}")
        bindings = self._bindings[exchange]
        targets = {queue for pattern, queue in bindings if topic_matches(pattern, routing_key)}
        if len(self._routes) >= _ROUTES_KEPT:  # many distinct topics: start over
            self._routes.clear()
        self._routes[exchange, routing_key] = route = tuple(sorted(targets))
        return route

    def messages(self, queue: str) -> list[Outgoing]:
        """The messages ready in ``queue``, oldest first (for tests and dead-letter views)."""
        return [to_outgoing(stored) for stored in self._queue(queue).ready]

    def message_count(self, queue: str) -> int:
        """How many messages are ready in ``queue``."""
        return len(self._queue(queue).ready)

    def has_queue(self, name: str) -> bool:
        """Whether a queue of that name exists."""
        return name in self._queues

    def purge(self, queue: str) -> int:
        """Drop the ready messages of ``queue``; return how many."""
        ready = self._queue(queue).ready
        count = len(ready)
        ready.clear()
        self._check_idle()
        return count

    def get(self, queue: str) -> MemoryDelivery | None:
        """Take one message without a consumer; settle it like any delivery."""
        q = self._queue(queue)
        stored = self._take(q)
        if stored is None:
            return None
        stored.delivery_count += 1
        self._unacked += 1
        return MemoryDelivery(self, q, stored, None)

    def subscribe(
        self,
        queue: str,
        callback: Callable[[Delivery], Awaitable[None]],
        prefetch: int,
    ) -> Subscription:
        """Deliver ``queue``'s messages to ``callback``, at most ``prefetch`` unsettled."""
        q = self._queue(queue)
        subscription = Subscription(self, q, callback, prefetch)
        q.consumers.append(subscription)
        self._dispatch(q)
        return subscription

    @property
    def idle(self) -> bool:
        """True when no message is ready, unacknowledged or waiting in a delay."""
        return self._busy_count() == 0

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until every queue is empty, nothing is unacknowledged and no delay is running.

        Raises:
            TimeoutError: still busy after ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            while not self.idle:
                waiter = asyncio.get_running_loop().create_future()
                self._idle_waiters.append(waiter)
                await waiter

    # ------------------------------------------------------------------ internals

    def _queue(self, name: str) -> Queue:
        try:
            return self._queues[name]
        except KeyError:
            raise MessagingError(f"no queue {name!r}") from None

    def _busy_count(self) -> int:
        ready = sum(len(q.ready) for q in self._queues.values() if q.consumers or q.ttl_ms)
        return ready + self._unacked + len(self._timers) + len(self._tasks)

    def _check_idle(self) -> None:
        if self._idle_waiters and self._busy_count() == 0:
            waiters, self._idle_waiters = self._idle_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def _take(self, queue: Queue) -> Stored | None:
        """The message at the head of ``queue``, past those whose expiration ran out."""
        ready = queue.ready
        while ready:
            stored = ready.popleft()
            if stored.expires_at is None or stored.expires_at > asyncio.get_running_loop().time():
                return stored
            self._dead_letter(queue, stored, "expired")
        return None

    def _enqueue(self, queue: Queue, stored: Stored) -> None:
        stored.position = next(self._positions)
        queue.ready.append(stored)
        if stored.expiration is not None and stored.expires_at is None:
            stored.expires_at = asyncio.get_running_loop().time() + int(stored.expiration) / 1000
        if queue.ttl_ms is not None:
            loop = asyncio.get_running_loop()
            handle: asyncio.TimerHandle

            def expire() -> None:
                self._timers.discard(handle)
                if stored in queue.ready:
                    queue.ready.remove(stored)
                    self._dead_letter(queue, stored, "expired")
                self._check_idle()

            handle = loop.call_later(queue.ttl_ms / 1000, expire)
            self._timers.add(handle)
        self._after_change(queue)

    def _over_limit(self, queue: Queue, stored: Stored) -> bool:
        return queue.delivery_limit is not None and stored.delivery_count > queue.delivery_limit

    def _dead_letter(self, queue: Queue, stored: Stored, reason: str) -> None:
        target = self._queues.get(queue.dead_letter or "")
        if target is None:
            return
        record_death(stored, queue.name, reason)
        # As with x-dead-letter-routing-key, the message travels on under the target's name.
        stored.routing_key = target.name
        stored.redelivered = False
        stored.delivery_count = 0
        self._enqueue(target, stored)

    def _after_change(self, queue: Queue) -> None:
        self._dispatch(queue)
        self._check_idle()

    def _dispatch(self, queue: Queue) -> None:
        ready, consumers = queue.ready, queue.consumers
        while ready and consumers:
            chosen = _next_consumer(queue)
            if chosen is None:
                return
            stored: Stored | None = ready.popleft() if ready[0].expires_at is None else None
            if stored is None and (stored := self._take(queue)) is None:
                return
            stored.delivery_count += 1
            if self._over_limit(queue, stored):
                self._dead_letter(queue, stored, "delivery_limit")
                continue
            chosen.unacked += 1
            self._unacked += 1
            chosen.deliver(MemoryDelivery(self, queue, stored, chosen))

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._check_idle()


def _check_properties(message: Outgoing) -> None:
    expiration = message.expiration
    if expiration is not None and not (expiration.isascii() and expiration.isdigit()):
        # RabbitMQ closes the channel: PRECONDITION_FAILED - invalid expiration.
        raise PublishError(f"invalid expiration {expiration[:40]!r}: milliseconds, as digits")
    if message.priority is not None and not 0 <= message.priority <= _MAX_PRIORITY:
        raise PublishError(f"invalid priority {message.priority}: 0 to {_MAX_PRIORITY}")


def _describe(queue: Queue) -> str:
    queue_type, dead_letter, ttl_ms, limit = queue.arguments
    return (
        f"queue_type={queue_type.value!r}, dead_letter={dead_letter!r}, "
        f"ttl_ms={ttl_ms}, delivery_limit={limit}"
    )


def _next_consumer(queue: Queue) -> Subscription | None:
    """The next consumer in turn with room in its prefetch window, if any."""
    consumers = queue.consumers
    count = len(consumers)
    if count == 1:
        only = consumers[0]
        return only if only.unacked < only.prefetch else None
    for offset in range(count):
        candidate = consumers[(queue.next_consumer + offset) % count]
        if candidate.unacked < candidate.prefetch:
            queue.next_consumer = (queue.next_consumer + offset + 1) % count
            return candidate
    return None
