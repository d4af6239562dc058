"""A resource that keeps its data in one `Cache`: it opens, closes and checks that cache."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from types import TracebackType

    from svckit.cache import Cache
    from svckit.core.health import Health


class CacheResource:
    """The resource part of `MediaStore` and `AnalyticsReader`.

    Attributes:
        name: The resource's name in health reports.
        cache: Where the data lives.
    """

    def __init__(self, cache: Cache, *, name: str) -> None:
        """Keep the data in ``cache``; report health as ``name``."""
        self.cache = cache
        self.name = name

    async def __aenter__(self) -> Self:
        """Open the cache."""
        await self.cache.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the cache."""
        await self.cache.__aexit__(exc_type, exc, tb)

    async def health(self) -> Health:
        """The cache's health."""
        return await self.cache.health()
