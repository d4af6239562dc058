"""Read-through loading: cross-process lock, delete fences, and failing open.

How a loaded value is kept from going stale (the race: a read loads the old row, an
update commits and deletes the key, then the read stores the old row):

- `invalidate` deletes the key and, in the same atomic step, writes a fresh random token
  to the key's *fence* (``{namespace}#fence:{key}``), which lives ``2 * max_load_time``.
- A load reads the fence before it calls the loader, and stores its value with
  `CacheBackend.fill`: only if the fence still holds what it read and the key is still
  empty. A delete during the load changed the fence; a write during the load filled the
  key. Either way the loaded value is dropped.
- A load slower than ``max_load_time`` does not store its value, so a fence always
  outlives the loads it has to stop (tokens are random, so an expired and re-created
  fence never matches an old read).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from svckit.cache._codec import decode, encode
from svckit.core.errors import CacheError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from svckit.cache._backend import CacheBackend
    from svckit.cache._telemetry import CacheTelemetry

__all__ = ["LoadOptions", "Loading"]

T = TypeVar("T")

#: Pause between two looks at a key that another process is loading: short at first,
#: because most loads are quick, then longer so that waiters do not hammer the server.
_FIRST_PAUSE = 0.005
_MAX_PAUSE = 0.1


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """How loads lock, wait and guard against stale values (see `Cache`)."""

    internal: str
    lock_ttl: float
    lock_wait: float
    max_load_time: float


class Loading:
    """The read-through path of one `Cache`, behind its per-process single-flight."""

    def __init__(
        self, backend: CacheBackend, telemetry: CacheTelemetry, options: LoadOptions
    ) -> None:
        """Bind the loading machinery to a backend."""
        self.backend = backend
        self.telemetry = telemetry
        self.options = options
        self.internal = options.internal

    def _fence(self, key: str) -> str:
        return f"{self.internal}fence:{key}"

    async def invalidate(self, full_key: str, key: str) -> bool:
        """Delete the key and renew its fence, so that loads in flight store nothing."""
        return await self.backend.delete(
            full_key, self._fence(key), os.urandom(16), 2 * self.options.max_load_time
        )

    async def _fail_open(self, exc: CacheError, loader: Callable[[], Awaitable[T]]) -> T:
        self.telemetry.failed(exc)
        self.telemetry.fail_open.add(1, self.telemetry.attributes)
        return await loader()

    async def get_or_load(
        self,
        full_key: str,
        key: str,
        type_: Any,
        loader: Callable[[], Awaitable[T]],
        ttl: float | None,
    ) -> T:
        """Return the cached value, or load it, store it if still fresh, and return it."""
        telemetry = self.telemetry
        try:
            raw = await self.backend.get(full_key)
        except CacheError as exc:
            return await self._fail_open(exc, loader)
        if telemetry.failing:
            telemetry.recovered()
        stale = False
        if raw is not None:
            try:
                value: T = decode(raw, type_)
            except ValidationError:
                telemetry.undecodable(key, getattr(type_, "__qualname__", repr(type_)))
                stale = True
            else:
                telemetry.hits.add(1, telemetry.attributes)
                return value
        telemetry.misses.add(1, telemetry.attributes)
        return await self._load(full_key, key, type_, loader, ttl, stale=stale)

    async def _load(
        self,
        full_key: str,
        key: str,
        type_: Any,
        loader: Callable[[], Awaitable[T]],
        ttl: float | None,
        *,
        stale: bool,
    ) -> T:
        lock = f"{self.internal}lock:{key}"
        token = os.urandom(16)
        try:
            if stale:
                # The fill stores only into an empty key: make room for the new value.
                await self.invalidate(full_key, key)
            locked, raw = await self._lock(full_key, lock, token)
        except CacheError as exc:
            return await self._fail_open(exc, loader)
        try:
            if raw is not None:
                try:
                    found: T = decode(raw, type_)
                except ValidationError:
                    return await loader()
                return found
            return await self._load_and_fill(full_key, key, loader, ttl)
        finally:
            if locked:
                try:
                    await self.backend.release(lock, token)
                except CacheError as exc:
                    self.telemetry.failed(exc)

    async def _lock(self, full_key: str, lock: str, token: bytes) -> tuple[bool, bytes | None]:
        """Take the key's load lock, or wait for the holder's value (bounded).

        Returns:
            ``(True, None)`` with the lock; ``(False, value)`` when the holder stored a
            value; ``(False, None)`` when the wait ran out (load without the lock).
        """
        options = self.options
        deadline = time.monotonic() + options.lock_wait
        pause = _FIRST_PAUSE
        while True:
            if await self.backend.add(lock, token, options.lock_ttl):
                return True, None
            if time.monotonic() >= deadline:
                return False, None
            await asyncio.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE)
            raw = await self.backend.get(full_key)
            if raw is not None:
                return False, raw

    async def _load_and_fill(
        self,
        full_key: str,
        key: str,
        loader: Callable[[], Awaitable[T]],
        ttl: float | None,
    ) -> T:
        started = time.monotonic()
        fence = self._fence(key)
        try:
            # Read before the loader runs: a delete after this point changes the fence.
            expected = await self.backend.get(fence)
        except CacheError as exc:
            return await self._fail_open(exc, loader)
        value = await loader()
        if value is None or time.monotonic() - started >= self.options.max_load_time:
            return value
        try:
            await self.backend.fill(full_key, encode(value), ttl, fence, expected)
        except CacheError as exc:
            self.telemetry.failed(exc)
        return value
