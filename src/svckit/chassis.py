"""What every kind of service holds: a cache, a content store, a bus with its consumers.

`ChassisService` is the common base of `WorkerService`, `ApiService` and `BotService`. It
opens the cache, the content store, then the bus (whose idempotency inbox lives in the
cache, so that every process of a service shares it), and turns the subclass's consumers
into intakes:

- methods marked with `svckit.messaging.consumer`;
- functions in the `ConsumerRouter` objects listed in ``routers``.

A handler's keyword-only parameters are filled from the service by name (``bus``,
``cache``, ``storage``, ``settings``, ``service`` or any other attribute). A service with
``uses_database = True`` also holds ``db`` (a `svckit.db.Database`, opened between the cache
and the bus), and a handler's ``session`` is then a session in a transaction around the
call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from svckit.cache import Cache
from svckit.core.retry import RetryPolicy
from svckit.core.service import Service
from svckit.core.settings import describe_url
from svckit.messaging import Bus, KeyValueInbox
from svckit.messaging.bus import transport_for_url
from svckit.messaging.consumer import spec_of
from svckit.messaging.router import ConsumerRouter, inject
from svckit.storage import ContentStore

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    # Only the ``settings`` annotation of a service is evaluated; these stay names.
    from sqlalchemy import MetaData  # noqa: TC004

    from svckit.core.resource import Resource
    from svckit.core.settings import ServiceSettings
    from svckit.core.work import Intake
    from svckit.db import Database  # noqa: TC004
    from svckit.db._inbox import DatabaseInbox
    from svckit.db.outbox import Outbox  # noqa: TC004
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
        uses_database: Whether the service holds a database, as ``db`` (off by default, so a
            service without tables opens no SQLite file and needs no ``db`` extra).
        metadata: The service's tables: created on start with
            ``database_create_schema``, compared by ``svckit db revision --autogenerate``.
        migrations: The alembic scripts folder (``migrations`` next to the service's
            module by default), as ``svckit db upgrade`` runs them.
        uses_outbox: Whether the service publishes through a transactional outbox, as
            ``outbox`` (turns the database on; see `svckit.db.outbox`).
        outbox_retry: How the outbox relay retries a row whose publish fails.
        db: The database (``settings.database_url``), when ``uses_database`` is on.
        outbox: The outbox, when ``uses_outbox`` is on.
    """

    routers: ClassVar[Sequence[ConsumerRouter]] = ()
    uses_database: ClassVar[bool] = False
    metadata: ClassVar[MetaData | None] = None
    migrations: ClassVar[str | None] = None
    uses_outbox: ClassVar[bool] = False
    outbox_retry: ClassVar[RetryPolicy | None] = None
    db: Database
    outbox: Outbox

    def __init__(
        self,
        settings: ServiceSettings | None = None,
        *,
        bus: Bus | None = None,
        cache: Cache | None = None,
        storage: ContentStore | None = None,
        db: Database | None = None,
    ) -> None:
        """Create the cache, the content store, the bus (and the database) from the settings.

        Args:
            settings: The service's settings (read from the environment by default).
            bus: A bus to use instead of one made from ``settings.bus_url``.
            cache: A cache to use instead of one made from ``settings.cache_url``.
            storage: A content store to use instead of one made from
                ``settings.storage_url``.
            db: A database to use instead of one made from ``settings.database_url``
                (turns the database on).
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
        self._database_inbox = (
            self._open_database(db)
            if db is not None or self.uses_database or self.uses_outbox
            else None
        )
        if self.uses_outbox:
            from svckit.db.outbox import DEFAULT_RETRY, Outbox  # noqa: PLC0415 - db extra

            self.outbox = Outbox.from_settings(
                self.settings, self.db, self.bus, retry=self.outbox_retry or DEFAULT_RETRY
            )
        for name, function in _consumer_methods(type(self)):
            spec = spec_of(function)
            self.bus.add_consumer(inject(getattr(self, name), self), spec)
        for router in self.routers:
            for handler, spec in router.specs():
                self.bus.add_consumer(inject(handler, self), spec)
        if self._database_inbox is not None:
            self._database_inbox.retain_for(self.bus.consumers)

    def _open_database(self, db: Database | None) -> DatabaseInbox:
        from svckit.db._inbox import DatabaseInbox  # noqa: PLC0415 - needs the db extra
        from svckit.db.database import Database  # noqa: PLC0415

        self.db = (
            db
            if db is not None
            else Database.from_settings(self.settings, metadata=self.metadata or ())
        )
        inbox = self.bus.database_inbox = DatabaseInbox(self.db)
        return inbox

    def per_call_dependencies(self) -> dict[str, Callable[[], AbstractAsyncContextManager[Any]]]:
        """What a handler's keyword-only parameters get fresh for each call, by name.

        With a database: ``session``, a session in a transaction around the call (see
        `Database.transaction`).
        """
        if "db" in vars(self):
            return {"session": self.db.transaction}
        return {}

    def resources(self) -> Sequence[Resource]:
        """The cache, the content store, the database, the bus, then the outbox.

        They close in reverse: the outbox's relay starts after the bus opened and stops
        before it closes.
        """
        db = [self.db] if "db" in vars(self) else []
        outbox = [self.outbox] if "outbox" in vars(self) else []
        return [*super().resources(), self.cache, self.storage, *db, self.bus, *outbox]

    def describe_resource(self, resource: Resource) -> str:
        """The resource's name, with where it connects when that came from the settings."""
        address = self._addresses.get(id(resource))
        described = super().describe_resource(resource)
        return described if address is None else f"{described} ({describe_url(address)})"

    def intakes(self) -> Sequence[Intake]:
        """The consumers (and the database inbox's sweeper, when a consumer uses it)."""
        inbox = self._database_inbox
        sweeper = [inbox] if inbox is not None and inbox.retained else []
        return [*super().intakes(), *self.bus.consumers, *sweeper]

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
