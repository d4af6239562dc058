"""What every kind of service holds: a cache, a content store, a bus with its consumers.

`ChassisService` is the common base of `WorkerService`, `ApiService` and `BotService`. It
opens the cache, the content store, then the bus (whose idempotency inbox lives in the
cache, so that every process of a service shares it), and turns the subclass's consumers
into intakes:

- methods marked with `svckit.messaging.consumer`;
- functions in the `ConsumerRouter` objects listed in ``routers``.

A handler's keyword-only parameters are filled from the service by name (``bus``,
``cache``, ``storage``, ``settings``, ``service`` or any other attribute).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from svckit.cache import Cache
from svckit.core.service import Service
from svckit.core.settings import describe_url
from svckit.messaging import Bus, KeyValueInbox
from svckit.messaging.bus import transport_for_url
from svckit.messaging.consumer import spec_of
from svckit.messaging.router import ConsumerRouter, inject
from svckit.storage import ContentStore

if TYPE_CHECKING:
    from svckit.core.resource import Resource
    from svckit.core.settings import ServiceSettings
    from svckit.core.work import Intake
    from svckit.messaging import Message

__all__ = ["ChassisService"]


class ChassisService(Service):
    """A service with a cache, a content store, a message bus and consumers.

    Attributes:
        cache: The cache resource (``settings.cache_url``), namespaced by service name.
        storage: The content store (``settings.storage_url``), shared by every service
            on that URL and not namespaced: its keys carry their own prefix.
        bus: The message bus (``settings.bus_url``).
        routers: Consumer routers whose consumers this service runs.
    """

    routers: ClassVar[Sequence[ConsumerRouter]] = ()

    def __init__(
        self,
        settings: ServiceSettings | None = None,
        *,
        bus: Bus | None = None,
        cache: Cache | None = None,
        storage: ContentStore | None = None,
    ) -> None:
        """Create the cache, the content store and the bus from the settings; add consumers.

        Args:
            settings: The service's settings (read from the environment by default).
            bus: A bus to use instead of one made from ``settings.bus_url``.
            cache: A cache to use instead of one made from ``settings.cache_url``.
            storage: A content store to use instead of one made from
                ``settings.storage_url``.
        """
        super().__init__(settings)
        # Where each resource made from the settings connects, for error messages.
        self._addresses: dict[int, str] = {}
        if cache is None:
            cache = Cache.from_url(self.settings.cache_url, namespace=self.name)
            self._addresses[id(cache)] = self.settings.cache_url.get_secret_value()
        self.cache = cache
        if storage is None:
            storage = ContentStore.from_url(
                self.settings.storage_url,
                max_size=self.settings.storage_max_size,
                ttl=self.settings.storage_ttl,
            )
            self._addresses[id(storage)] = self.settings.storage_url.get_secret_value()
        self.storage = storage
        if bus is None:
            url = self.settings.bus_url.get_secret_value()
            bus = Bus(
                url,
                service=self.name,
                inbox=KeyValueInbox(self.cache),
                transport=transport_for_url(
                    url,
                    service=self.name,
                    connect_timeout=self.settings.bus_connect_timeout,
                ),
            )
            self._addresses[id(bus)] = url
        self.bus = bus
        for name, function in _consumer_methods(type(self)):
            spec = spec_of(function)
            self.bus.add_consumer(inject(getattr(self, name), self), spec)
        for router in self.routers:
            for handler, spec in router.specs():
                self.bus.add_consumer(inject(handler, self), spec)

    def resources(self) -> Sequence[Resource]:
        """The cache, the content store, then the bus (closed in reverse: the bus first)."""
        return [*super().resources(), self.cache, self.storage, self.bus]

    def describe_resource(self, resource: Resource) -> str:
        """The resource's name, with where it connects when that came from the settings."""
        address = self._addresses.get(id(resource))
        described = super().describe_resource(resource)
        return described if address is None else f"{described} ({describe_url(address)})"

    def intakes(self) -> Sequence[Intake]:
        """The consumers."""
        return [*super().intakes(), *self.bus.consumers]

    async def publish(self, message: Message, **options: Any) -> str:
        """Publish ``message`` on the bus; see `Bus.publish`."""
        return await self.bus.publish(message, **options)


def _consumer_methods(cls: type) -> list[tuple[str, Any]]:
    found = []
    seen: set[str] = set()
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)
            if inspect.isfunction(value) and spec_of(value) is not None:
                found.append((name, value))
    return found
