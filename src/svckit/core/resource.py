"""Resources: the connections a service holds.

A resource is an async context manager with a name and a health check. A service opens its
resources in the order it declares them and closes them in reverse order, also when one
of them fails to open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, Self, runtime_checkable

if TYPE_CHECKING:
    from types import TracebackType

    from svckit.core.health import Health

__all__ = ["Resource"]


@runtime_checkable
class Resource(Protocol):
    """A connection a service holds: a message bus, a cache, a database engine...

    Example:
        ```python
        class Database:
            name = "database"

            async def __aenter__(self) -> Self:
                self.engine = create_async_engine(self.url)
                return self

            async def __aexit__(self, *exc_info: object) -> None:
                await self.engine.dispose()

            async def health(self) -> Health:
                async with self.engine.connect() as conn:
                    await conn.execute(text("select 1"))
                return Health.up()
        ```
    """

    name: str

    async def __aenter__(self) -> Self:
        """Open the resource."""
        ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        """Close the resource."""
        ...

    async def health(self) -> Health:
        """Say whether the resource works; called by readiness checks, so keep it fast."""
        ...
