"""Leases: values that only their holder may extend or release, part of `Cache`.

A lease is a value stored with `Cache.add` (usually ``pin=True``) that names its holder,
say a random token. `extend` and `release` compare and act in one atomic step, so a
holder whose lease expired and was taken by another cannot extend or drop the new one.
The idempotency inbox holds its message claims this way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from svckit.cache._backend import TTL, seconds
from svckit.cache._codec import encode
from svckit.core.errors import CacheError

if TYPE_CHECKING:
    from svckit.cache._backend import CacheBackend
    from svckit.cache._telemetry import CacheTelemetry

__all__ = ["Leases"]


class Leases:
    """The lease methods of `Cache`: compare-and-act on one key, atomic on every backend."""

    backend: CacheBackend
    _prefix: str
    _telemetry: CacheTelemetry

    async def extend(self, key: str, value: Any, ttl: TTL) -> bool:
        """Make ``key`` expire ``ttl`` from now, only if it still holds ``value``.

        Args:
            key: The key, without the namespace.
            value: What the holder stored (compared as stored, after encoding).
            ttl: Seconds (or a timedelta) from now.

        Returns:
            True if extended; False if the key is gone or holds something else.

        Raises:
            CacheError: The backend failed.
        """
        ttl_seconds = seconds(ttl)
        if ttl_seconds is None:
            raise ValueError("extend needs a TTL")
        try:
            return await self.backend.extend(self._prefix + key, encode(value), ttl_seconds)
        except CacheError as exc:
            self._telemetry.failed(exc)
            raise

    async def release(self, key: str, value: Any) -> bool:
        """Delete ``key`` only if it holds ``value`` (a lease given up by its holder).

        Unlike `Cache.delete`, this is not an invalidation: use it for leases and locks,
        not for cached values.

        Returns:
            True if the key held ``value`` and was deleted.

        Raises:
            CacheError: The backend failed.
        """
        try:
            return await self.backend.release(self._prefix + key, encode(value))
        except CacheError as exc:
            self._telemetry.failed(exc)
            raise
