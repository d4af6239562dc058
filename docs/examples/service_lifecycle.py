"""A service is resources + intakes: the order in which they open, start, stop and close."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Self

from svckit import DrainReport, Health, Service, ServiceSettings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from svckit import Intake, Resource

steps: list[str] = []


# --8<-- [start:resource]
class Connection:
    """A resource: an async context manager with a name and a health check."""

    def __init__(self, name: str, *, fail: bool = False) -> None:
        self.name = name
        self.fail = fail

    async def __aenter__(self) -> Self:
        steps.append(f"open {self.name}")
        if self.fail:
            raise ConnectionRefusedError(f"{self.name} is not there")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        steps.append(f"close {self.name}")

    async def health(self) -> Health:
        return Health.up()


# --8<-- [end:resource]


# --8<-- [start:intake]
class Front:
    """An intake: the part that takes work in (here it only records its lifecycle)."""

    name = "front"

    async def start(self) -> None:
        steps.append("start front")

    async def stop(self) -> None:
        steps.append("stop front")

    async def drain(self, timeout: float) -> DrainReport:
        steps.append(f"drain front (up to {timeout:g} s)")
        return DrainReport()


# --8<-- [end:intake]


# --8<-- [start:service]
class Shop(Service):
    """Two resources and one intake."""

    def __init__(
        self, settings: ServiceSettings | None = None, *, cache_fails: bool = False
    ) -> None:
        super().__init__(settings)
        self.database = Connection("database")
        self.cache = Connection("cache", fail=cache_fails)
        self.front = Front()

    def resources(self) -> Sequence[Resource]:
        return [*super().resources(), self.database, self.cache]

    def intakes(self) -> Sequence[Intake]:
        return [*super().intakes(), self.front]


# --8<-- [end:service]


# --8<-- [start:main]
async def main() -> None:
    async with Shop(ServiceSettings(service_name="shop")):
        steps.append("serving")
    print(" -> ".join(steps))
    assert steps == [
        "open database",
        "open cache",
        "start front",
        "serving",
        "stop front",
        "drain front (up to 25 s)",
        "close cache",
        "close database",
    ]

    # When a resource fails to open, the ones opened before it are closed again.
    steps.clear()
    try:
        async with Shop(ServiceSettings(service_name="shop"), cache_fails=True):
            steps.append("serving")
    except ConnectionRefusedError as exc:
        print(f"start failed: {exc}")
    print(" -> ".join(steps))
    assert steps == ["open database", "open cache", "close database"]


asyncio.run(main())
# --8<-- [end:main]
