"""The cache backend Protocol: what `Cache` needs from a store.

A backend stores bytes under full keys (the namespace is already applied) and knows
nothing of types, namespaces or metrics; `Cache` adds those. svckit ships two backends,
`MemoryBackend` and `RedisBackend`, held to the same contract by one test suite.

Every method raises `svckit.CacheError` when the store fails, with the store's own error
as ``__cause__``; nothing else escapes a backend.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol, TypeAlias, runtime_checkable

__all__ = ["TTL", "CacheBackend", "seconds"]

#: How long a value lives: seconds, a timedelta, or ``None`` for no expiry.
TTL: TypeAlias = float | timedelta | None


def seconds(ttl: TTL) -> float | None:
    """``ttl`` in seconds, checked to be positive."""
    if ttl is None:
        return None
    value = ttl.total_seconds() if isinstance(ttl, timedelta) else float(ttl)
    if value <= 0:
        raise ValueError(f"a TTL must be positive, got {value} s")
    return value


@runtime_checkable
class CacheBackend(Protocol):
    """A store of bytes by key, with expiry, counters and two atomic guards.

    TTLs are in seconds; ``None`` means the entry does not expire. Keys are full keys:
    `Cache` has already put its namespace in front.
    """

    async def get(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or ``None`` if there are none."""
        ...

    async def set(self, key: str, value: bytes, ttl: float | None, *, pin: bool = False) -> None:
        """Store ``value`` under ``key``, replacing what was there.

        ``pin`` asks that the entry stay until its TTL ends: a store with a size bound
        never evicts it to make room (the memory backend keeps it out of its LRU order).
        """
        ...

    async def add(self, key: str, value: bytes, ttl: float | None, *, pin: bool = False) -> bool:
        """Store ``value`` only if ``key`` holds nothing; True when it was stored.

        ``pin`` as in `set`.
        """
        ...

    async def delete(self, key: str, fence: str, token: bytes, fence_ttl: float) -> bool:
        """Delete ``key`` and, in the same atomic step, store ``token`` under ``fence``.

        Returns:
            Whether ``key`` held a value.
        """
        ...

    async def fill(
        self,
        key: str,
        value: bytes,
        ttl: float | None,
        fence: str,
        expected: bytes | None,
    ) -> bool:
        """Store ``value`` if ``key`` holds nothing and ``fence`` still holds ``expected``.

        This is how a loaded value enters the cache: if the key was deleted (the fence
        changed) or written (the key exists) while the value was loading, the value may be
        stale and is dropped. The check and the write are one atomic step.

        Returns:
            Whether ``value`` was stored.
        """
        ...

    async def release(self, key: str, token: bytes) -> bool:
        """Delete ``key`` only if it holds ``token`` (releases a lock that is still ours)."""
        ...

    async def extend(self, key: str, token: bytes, ttl: float) -> bool:
        """Make ``key`` expire ``ttl`` seconds from now, only if it holds ``token``.

        The check and the change are one atomic step, so only the holder of a lease
        extends it: one that lost it (it expired and another process took it) gets False.
        """
        ...

    async def incr(self, key: str, amount: int, ttl: float | None) -> int:
        """Add ``amount`` to the integer under ``key`` (0 if absent); return the new value.

        ``ttl`` is set when the counter has no expiry yet, so it starts at creation.
        """
        ...

    async def hincr(self, key: str, field: str, amount: int, ttl: float | None) -> int:
        """Add ``amount`` to ``field`` of the hash under ``key``; return the field's value.

        ``ttl`` is set when the hash has no expiry yet, so it starts at creation.
        """
        ...

    async def hgetall(self, key: str) -> dict[str, int]:
        """Every field of the counter hash under ``key`` (empty if there is none)."""
        ...

    async def clear(self, prefix: str) -> None:
        """Delete every key that starts with ``prefix``."""
        ...

    async def ping(self) -> None:
        """Return if the store answers; raise `svckit.CacheError` otherwise."""
        ...

    async def aclose(self) -> None:
        """Release the connections; the backend is not used afterwards."""
        ...

    def describe(self) -> str:
        """Where the store is, for health details and logs (never with credentials)."""
        ...
