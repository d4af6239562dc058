"""The in-memory cache backend: the embedded default and the users' test double.

Entries live in one ordered dict, least recently used first, so eviction at the size
limit is O(1). Expired entries are dropped when they are touched or when they reach the
front of the LRU order; no background task is needed.

Pinned entries (``pin=True``: leases and the idempotency inbox's done marks) and the
fences of deletes live apart, outside the size bound: evicting one before its time would
break what it guards (a duplicate message processed twice, a stale value stored). They
all have a TTL, so what bounds them is time; the expired ones are swept whenever their
number has doubled since the last sweep, so the sweeps cost O(1) per write on average.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from svckit.core.errors import CacheError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MemoryBackend"]

_WRONG_TYPE = "WRONGTYPE: the key holds a value of another kind (a hash or a plain value)"


@dataclass(slots=True)
class _Entry:
    value: bytes | dict[str, int]
    expires_at: float | None


class MemoryBackend:
    """A `CacheBackend` in the process's memory, with TTLs and LRU eviction.

    It behaves like the Redis backend (the same contract suite runs on both), but its data
    lives and dies with the process and is not shared with other processes.

    Example:
        ```python
        cache = Cache(MemoryBackend(max_size=1_000), namespace="users")
        ```
    """

    def __init__(
        self,
        *,
        max_size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create an empty store.

        Args:
            max_size: The most entries kept; storing one more evicts the least recently
                used. Counters and hashes count as one entry each.
            clock: Seconds from any fixed point; tests pass a fake clock to move time.
        """
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.max_size = max_size
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        # Pinned entries, never evicted for room (see the module docstring).
        self._pinned: dict[str, _Entry] = {}
        self._pinned_sweep_at = 64
        # Fences live apart from the entries so that LRU eviction never drops one: a lost
        # fence would let a stale fill through.
        self._fences: dict[str, tuple[bytes, float]] = {}
        self._fence_sweep_at = 64

    def __len__(self) -> int:
        """The number of entries held, pinned and expired ones not yet dropped included."""
        return len(self._entries) + len(self._pinned)

    # ------------------------------------------------------------------ helpers

    def _deadline(self, ttl: float | None) -> float | None:
        return None if ttl is None else self._clock() + ttl

    def _live(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return self._live_pinned(key) if self._pinned else None
        if entry.expires_at is not None and entry.expires_at <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def _live_pinned(self, key: str) -> _Entry | None:
        entry = self._pinned.get(key)
        if entry is not None and entry.expires_at is not None and entry.expires_at <= self._clock():
            del self._pinned[key]
            return None
        return entry

    def _store(self, key: str, entry: _Entry, *, pin: bool = False) -> None:
        if pin:
            if entry.expires_at is None:
                raise ValueError("a pinned entry needs a TTL: only time may remove it")
            self._entries.pop(key, None)
            self._pinned[key] = entry
            if len(self._pinned) >= self._pinned_sweep_at:
                self._sweep_pinned()
            return
        if self._pinned:
            self._pinned.pop(key, None)
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_size:
            self._entries.popitem(last=False)

    def _drop(self, key: str) -> None:
        self._entries.pop(key, None)
        self._pinned.pop(key, None)

    def _sweep_pinned(self) -> None:
        now = self._clock()
        expired = [
            k for k, e in self._pinned.items() if e.expires_at is not None and e.expires_at <= now
        ]
        for key in expired:
            del self._pinned[key]
        self._pinned_sweep_at = max(64, 2 * len(self._pinned))

    def _fence(self, fence: str) -> bytes | None:
        held = self._fences.get(fence)
        if held is None:
            return None
        token, expires_at = held
        if expires_at <= self._clock():
            del self._fences[fence]
            return None
        return token

    def _sweep_fences(self) -> None:
        now = self._clock()
        for name in [name for name, (_, exp) in self._fences.items() if exp <= now]:
            del self._fences[name]
        self._fence_sweep_at = max(64, 2 * len(self._fences))

    # ------------------------------------------------------------------ CacheBackend

    async def get(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or ``None``."""
        entry = self._live(key)
        if entry is None:
            # A fence is a key like any other, only kept apart from the LRU order.
            return self._fence(key) if self._fences else None
        if not isinstance(entry.value, bytes):
            raise CacheError(_WRONG_TYPE)
        return entry.value

    async def set(self, key: str, value: bytes, ttl: float | None, *, pin: bool = False) -> None:
        """Store ``value`` under ``key``; a pinned entry is never evicted for room."""
        self._store(key, _Entry(bytes(value), self._deadline(ttl)), pin=pin)

    async def add(self, key: str, value: bytes, ttl: float | None, *, pin: bool = False) -> bool:
        """Store ``value`` if ``key`` holds nothing; ``pin`` as in `set`."""
        if self._live(key) is not None:
            return False
        self._store(key, _Entry(bytes(value), self._deadline(ttl)), pin=pin)
        return True

    async def delete(self, key: str, fence: str, token: bytes, fence_ttl: float) -> bool:
        """Delete ``key`` and set ``fence`` to ``token``."""
        existed = self._live(key) is not None
        self._drop(key)
        self._fences[fence] = (token, self._clock() + fence_ttl)
        if len(self._fences) >= self._fence_sweep_at:
            self._sweep_fences()
        return existed

    async def fill(
        self,
        key: str,
        value: bytes,
        ttl: float | None,
        fence: str,
        expected: bytes | None,
    ) -> bool:
        """Store ``value`` if ``key`` is empty and ``fence`` holds ``expected``."""
        if self._fence(fence) != expected or self._live(key) is not None:
            return False
        self._store(key, _Entry(bytes(value), self._deadline(ttl)))
        return True

    async def release(self, key: str, token: bytes) -> bool:
        """Delete ``key`` if it holds ``token``."""
        entry = self._live(key)
        if entry is None or entry.value != token:
            return False
        self._drop(key)
        return True

    async def extend(self, key: str, token: bytes, ttl: float) -> bool:
        """Make ``key`` expire ``ttl`` seconds from now if it holds ``token``."""
        entry = self._live(key)
        if entry is None or entry.value != token:
            return False
        entry.expires_at = self._clock() + ttl
        return True

    async def incr(self, key: str, amount: int, ttl: float | None) -> int:
        """Add ``amount`` to the counter under ``key``."""
        entry = self._live(key)
        if entry is None:
            entry = _Entry(b"0", None)
        if not isinstance(entry.value, bytes):
            raise CacheError(_WRONG_TYPE)
        try:
            total = int(entry.value) + amount
        except ValueError as exc:
            raise CacheError("the value under the key is not an integer") from exc
        entry.value = str(total).encode()
        if entry.expires_at is None:
            entry.expires_at = self._deadline(ttl)
        self._store(key, entry, pin=key in self._pinned)
        return total

    async def hincr(self, key: str, field: str, amount: int, ttl: float | None) -> int:
        """Add ``amount`` to ``field`` of the hash under ``key``."""
        entry = self._live(key)
        if entry is None:
            entry = _Entry({}, None)
        if not isinstance(entry.value, dict):
            raise CacheError(_WRONG_TYPE)
        total = entry.value.get(field, 0) + amount
        entry.value[field] = total
        if entry.expires_at is None:
            entry.expires_at = self._deadline(ttl)
        self._store(key, entry, pin=key in self._pinned)
        return total

    async def hgetall(self, key: str) -> dict[str, int]:
        """Every field of the hash under ``key``."""
        entry = self._live(key)
        if entry is None:
            return {}
        if not isinstance(entry.value, dict):
            raise CacheError(_WRONG_TYPE)
        return dict(entry.value)

    async def clear(self, prefix: str) -> None:
        """Delete every entry and fence whose key starts with ``prefix``."""
        for key in [key for key in self._entries if key.startswith(prefix)]:
            del self._entries[key]
        for key in [key for key in self._pinned if key.startswith(prefix)]:
            del self._pinned[key]
        for name in [name for name in self._fences if name.startswith(prefix)]:
            del self._fences[name]

    async def ping(self) -> None:
        """Always answers: the store is this process."""

    async def aclose(self) -> None:
        """Drop every entry."""
        self._entries.clear()
        self._pinned.clear()
        self._fences.clear()

    def describe(self) -> str:
        """``memory`` with the number of entries held."""
        return f"memory ({len(self._entries)} of {self.max_size} entries)"
