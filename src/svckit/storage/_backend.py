"""The content store's backend Protocol: bytes by key, with an optional time to live.

A backend receives keys that `ContentStore` has already checked (see
`svckit.storage._keys`) and content it has already measured against the size limit. TTLs
are in seconds; ``None`` means the entry stays until it is deleted. An expired entry is
invisible to every method, whenever the backend actually drops it.

Every method raises `svckit.StorageError` when the store fails, with the store's own
error as ``__cause__``; nothing else escapes a backend. svckit ships `MemoryStorage`,
`FileStorage` and `RedisStorage`, held to this contract by one test suite.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["StorageBackend"]


@runtime_checkable
class StorageBackend(Protocol):
    """Where a `ContentStore` keeps its bytes."""

    async def put(self, key: str, data: bytes, ttl: float | None) -> None:
        """Store ``data`` under ``key``, replacing what was there, as one atomic step.

        A reader sees the old content or the new, never a part of either.
        """
        ...

    async def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or ``None`` if there are none or they expired."""
        ...

    async def delete(self, key: str) -> bool:
        """Delete ``key``; whether it held (unexpired) content."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether ``key`` holds unexpired content."""
        ...

    async def ping(self) -> None:
        """Return if the store works; raise `svckit.StorageError` otherwise."""
        ...

    async def aclose(self) -> None:
        """Release connections and background work; the backend is not used afterwards."""
        ...

    def describe(self) -> str:
        """Where the store is, for health details and logs (never with credentials)."""
        ...
