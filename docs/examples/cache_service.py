"""A service that holds a cache: built from its settings, opened and closed with it.

Run it as is (``python docs/examples/cache_service.py``); the settings default to the
in-memory cache (set ``SVCKIT_CACHE_URL=redis://localhost:6379/0`` for Redis).
"""

from __future__ import annotations

import asyncio

from svckit import HealthStatus, Resource, Service, ServiceSettings
from svckit.cache import Cache


# --8<-- [start:service]
class UsersService(Service):
    def __init__(self, settings: ServiceSettings | None = None) -> None:
        super().__init__(settings)
        self.cache = Cache.from_url(self.settings.cache_url, namespace=self.settings.service_name)

    def resources(self) -> list[Resource]:
        return [*super().resources(), self.cache]


# --8<-- [end:service]


async def main(settings: ServiceSettings | None = None) -> None:
    service = UsersService(settings or ServiceSettings(service_name="users"))
    async with service:  # opens the cache with the service's other resources
        await service.cache.set("greeting", "hello")
        report = await service.health_report()
        assert report.checks["cache"].status is HealthStatus.UP
        assert await service.cache.get("greeting", str) == "hello"
    print("cache service: ok")


if __name__ == "__main__":
    asyncio.run(main())
