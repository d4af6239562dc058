"""`ServiceHarness`: a service running in the test's event loop, on fresh embedded backends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, Self, TypeVar

from svckit.core.errors import LifecycleError
from svckit.core.logging import configure_logging
from svckit.core.settings import Environment
from svckit.messaging.dead_letters import DeadLetter
from svckit.messaging.memory import MemoryBroker, MemoryTransport, forget_broker
from svckit.messaging.transport import Outgoing
from svckit.storage import forget_memory_storage

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType

    from svckit.cache import Cache
    from svckit.chassis import ChassisService
    from svckit.messaging import Message
    from svckit.storage import ContentStore

__all__ = ["HarnessFactory", "ServiceHarness"]

S = TypeVar("S", bound="ChassisService")
M = TypeVar("M", bound="Message")


class HarnessFactory(Protocol):
    """The type of the ``svckit_harness`` fixture: start a service, get its harness.

    Example:
        ```python
        async def test_thumbnails(svckit_harness: HarnessFactory) -> None:
            harness = await svckit_harness(Thumbnails)
        ```
    """

    async def __call__(self, service: S | type[S], /, **overrides: Any) -> ServiceHarness[S]:
        """Start ``service`` in a harness that stops when the test ends."""
        ...


class ServiceHarness(Generic[S]):
    """Runs a service on a broker, a cache and a content store of its own, in the test's loop.

    The service's settings come from its settings class and the environment variables, as
    in production (but never from a ``.env`` file), with these overrides: a fresh
    ``memory://`` bus, cache and content store, the ``test`` environment and no health
    port. Give more overrides as keyword arguments, or a ready service instance.

    Attributes:
        service: The running service.
        broker: The embedded broker it is connected to.
    """

    def __init__(self, service: S | type[S], **overrides: Any) -> None:
        """Prepare a harness for ``service`` (a class, or an instance on ``memory://``).

        Args:
            service: A `WorkerService` (or any chassis service) class or instance.
            **overrides: Settings fields to set, for example ``shutdown_timeout=1``.
        """
        self._own_broker: str | None = None
        if isinstance(service, type):
            name = uuid.uuid4().hex
            self._own_broker = f"memory://harness-{name}"
            settings_class = service.resolve_settings_class()
            values: dict[str, Any] = {
                "bus_url": self._own_broker,
                "cache_url": "memory://",
                "storage_url": self._own_broker,
                "environment": Environment.TEST,
                "health_port": None,
                **overrides,
            }
            # The test decides the settings: a developer's .env file must not change them.
            self.service: S = service(settings_class(_env_file=None, **values))
        else:
            if overrides:
                raise TypeError("settings overrides apply to a service class, not an instance")
            self.service = service
        transport = self.service.bus.transport
        if not isinstance(transport, MemoryTransport):
            raise LifecycleError("ServiceHarness runs services on the embedded memory:// broker")
        self.broker: MemoryBroker = transport.broker
        self._seen = self.broker.published_count
        self._raw_ids: set[str] = set()

    async def __aenter__(self) -> Self:
        """Configure logging as the service would, then start it (resources, consumers)."""
        configure_logging(self.service.settings)
        await self.service.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Shut the service down, as on SIGTERM, and drop the broker the harness made."""
        try:
            await self.service.__aexit__(exc_type, exc, tb)
        finally:
            if self._own_broker is not None:
                forget_broker(self._own_broker)
                forget_memory_storage(self._own_broker)

    @property
    def cache(self) -> Cache:
        """The service's cache."""
        return self.service.cache

    @property
    def storage(self) -> ContentStore:
        """The service's content store."""
        return self.service.storage

    async def publish(self, message: Message, **options: Any) -> str:
        """Publish ``message`` on the service's bus (as another service would)."""
        return await self.service.bus.publish(message, **options)

    async def publish_raw(
        self,
        topic: str,
        body: bytes,
        *,
        headers: Mapping[str, Any] | None = None,
        content_type: str | None = "application/json",
        content_encoding: str | None = None,
        message_id: str | None = None,
    ) -> str:
        """Publish ``body`` exactly as given, to test what the service does with bad input.

        Nothing is encoded, validated or added: no schema header, no trace context. The
        message goes to the service's exchange with ``topic`` as its routing key and its
        AMQP type, as the bus would send it, so consumers bound to ``topic`` receive it.
        `published` leaves these messages out (they may not parse); `messages` lists them.

        Example:
            ```python
            await harness.publish_raw("user.signed_up", b"{not json")
            await harness.wait_idle()
            [letter] = harness.dead_letters()
            ```

        Args:
            topic: The routing key.
            body: The bytes consumers receive.
            headers: AMQP application headers.
            content_type: The ``content_type`` property.
            content_encoding: The ``content_encoding`` property (``gzip``...).
            message_id: The id (a new random one by default).

        Returns:
            The message id.

        Raises:
            LifecycleError: the harness is not running (its queues do not exist yet).
        """
        if not self.service.ready:
            raise LifecycleError("start the harness (async with harness:) before publishing")
        message_id = message_id or uuid.uuid4().hex
        outgoing = Outgoing(
            body=body,
            routing_key=topic,
            message_id=message_id,
            timestamp=datetime.now(UTC),
            type=topic,
            headers=dict(headers or {}),
            content_type=content_type,
            content_encoding=content_encoding,
        )
        bus = self.service.bus
        await bus.transport.publish(bus.exchange, outgoing, mandatory=False)
        self._raw_ids.add(message_id)
        return message_id

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until every queue is empty, nothing is unacknowledged and no retry waits.

        Raises:
            TimeoutError: still busy after ``timeout`` seconds.
        """
        await self.broker.wait_idle(timeout)

    @property
    def messages(self) -> list[Outgoing]:
        """The messages published since the harness was made, in order.

        The broker keeps the latest `PUBLISHED_KEPT` (10,000) messages; a test that
        publishes more sees the latest ones.
        """
        new = self.broker.published_count - self._seen
        if new <= 0:
            return []
        kept = list(self.broker.published)
        return kept[-new:]

    def published(self, message_type: type[M]) -> list[M]:
        """The messages of ``message_type`` published since the harness was made.

        Messages sent with `publish_raw` are left out.
        """
        return [
            message_type.model_validate_json(out.body)
            for out in self.messages
            if out.routing_key == message_type.topic and out.message_id not in self._raw_ids
        ]

    def dead_letters(self, consumer: str | None = None) -> list[DeadLetter]:
        """The dead letters of every consumer, or of the one named ``consumer``."""
        letters: list[DeadLetter] = []
        for c in self.service.bus.consumers:
            if consumer is not None and consumer not in {c.name, c.handler.name}:
                continue
            queue = c.queue.dead_letter_queue
            if not self.broker.has_queue(queue):
                continue
            letters.extend(DeadLetter.from_delivery(out) for out in self.broker.messages(queue))
        return letters
