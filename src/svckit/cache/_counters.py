"""Atomic counters and hash counters (analytics), part of `Cache`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from svckit.cache._backend import TTL, seconds
from svckit.core.errors import CacheError

if TYPE_CHECKING:
    from svckit.cache._backend import CacheBackend
    from svckit.cache._telemetry import CacheTelemetry

__all__ = ["Counters"]


class Counters:
    """The counter methods of `Cache`: increments are atomic on every backend."""

    backend: CacheBackend
    _prefix: str
    _telemetry: CacheTelemetry

    async def incr(self, key: str, amount: int = 1, *, ttl: TTL = None) -> int:
        """Add ``amount`` to the counter under ``key`` (created at 0) atomically.

        Args:
            key: The key, without the namespace; ``get(key, int)`` reads the counter.
            amount: What to add; negative to subtract.
            ttl: Set on the counter when it has no expiry yet, so it counts from creation.

        Returns:
            The counter's new value.

        Raises:
            CacheError: The backend failed, or the key holds something else.
        """
        try:
            return await self.backend.incr(self._prefix + key, amount, seconds(ttl))
        except CacheError as exc:
            self._telemetry.failed(exc)
            raise

    async def hincr(self, key: str, field: str, amount: int = 1, *, ttl: TTL = None) -> int:
        """Add ``amount`` to the counter ``field`` of the hash under ``key`` atomically.

        Args:
            key: The key, without the namespace; `hgetall` reads every field.
            field: The counter within the hash.
            amount: What to add; negative to subtract.
            ttl: Set on the hash when it has no expiry yet, so it counts from creation.

        Returns:
            The field's new value.

        Raises:
            CacheError: The backend failed, or the key holds something else.
        """
        try:
            return await self.backend.hincr(self._prefix + key, field, amount, seconds(ttl))
        except CacheError as exc:
            self._telemetry.failed(exc)
            raise

    async def hgetall(self, key: str) -> dict[str, int]:
        """Every counter field of the hash under ``key``; empty if there is none.

        Raises:
            CacheError: The backend failed, or the key holds something else.
        """
        try:
            return await self.backend.hgetall(self._prefix + key)
        except CacheError as exc:
            self._telemetry.failed(exc)
            raise
