"""Health: each resource reports on itself; the service says whether it is live and ready."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Self

from svckit import Health, HealthStatus, Service, ServiceSettings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from svckit import Resource


# --8<-- [start:resource]
class ReplicaCache:
    """A cache that still serves when its primary is gone, but says so."""

    name = "cache"

    def __init__(self) -> None:
        self.primary_up = True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def health(self) -> Health:
        if self.primary_up:
            return Health.up()
        return Health.degraded("primary unreachable, serving from the replica")


# --8<-- [end:resource]


class Catalog(Service):
    """One resource, no intake."""

    def __init__(self, settings: ServiceSettings | None = None) -> None:
        super().__init__(settings)
        self.cache = ReplicaCache()

    def resources(self) -> Sequence[Resource]:
        return [*super().resources(), self.cache]


# --8<-- [start:main]
async def main() -> None:
    service = Catalog(ServiceSettings(service_name="catalog"))
    assert not (await service.health_report()).ready  # not started yet

    async with service:
        service.cache.primary_up = False
        report = await service.health_report()
        print(report.model_dump_json(indent=2))
        # Degraded still serves: the service stays ready.
        assert report.ready
        assert report.status is HealthStatus.DEGRADED

    assert not (await service.health_report()).ready  # stopped


asyncio.run(main())
# --8<-- [end:main]
