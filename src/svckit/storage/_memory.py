"""The in-memory content store: the embedded default and the users' test double.

Every ``memory://`` URL in one process names one store, as it names one embedded broker:
``memory://`` is the default store, ``memory://other`` another. So an API and a worker
running in one process (``svckit demo``, a test) see each other's content, as they
would through Redis or a shared directory.

A store holds at most ``capacity`` bytes. When a put would pass it, the expired entries
are dropped; if that is not enough, the put fails with `svckit.StorageError`, as Redis
does when it reaches ``maxmemory`` with ``noeviction``: content is never evicted before
its time, since a message may still name it. Expired entries are also swept whenever
their number has doubled since the last sweep, so sweeps cost O(1) per put on average.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from svckit.core.errors import ConfigurationError, StorageError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["DEFAULT_CAPACITY", "MemoryStorage", "forget_memory_storage", "memory_storage_for"]

#: Bytes one in-memory store holds at most, unless it is created with another capacity.
DEFAULT_CAPACITY = 256 * 1024 * 1024

_STORES: dict[str, MemoryStorage] = {}


class MemoryStorage:
    """A `StorageBackend` in the process's memory.

    It behaves like the Redis and file backends (the same contract suite runs on all
    three), but its content lives and dies with the process. Create one yourself for a
    store of your own, or use `memory_storage_for` for the process's shared one.

    Example:
        ```python
        store = ContentStore(MemoryStorage(capacity=64 * 1024 * 1024))
        ```
    """

    def __init__(
        self,
        *,
        capacity: int = DEFAULT_CAPACITY,
        clock: Callable[[], float] = time.monotonic,
        label: str = "memory://",
    ) -> None:
        """Create an empty store.

        Args:
            capacity: The most bytes of content held at once.
            clock: Seconds from any fixed point; tests pass a fake clock to move time.
            label: How `describe` names the store.
        """
        if capacity < 1:
            raise ValueError("capacity must be at least 1 byte")
        self.capacity = capacity
        self._clock = clock
        self._label = label
        self._entries: dict[str, tuple[bytes, float | None]] = {}
        self._used = 0
        self._sweep_at = 64

    @property
    def used(self) -> int:
        """Bytes of content held, expired entries not yet dropped included."""
        return self._used

    def __len__(self) -> int:
        """The number of entries held, expired ones not yet dropped included."""
        return len(self._entries)

    def _live(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        data, expires_at = entry
        if expires_at is not None and expires_at <= self._clock():
            self._drop(key)
            return None
        return data

    def _drop(self, key: str) -> None:
        data, _ = self._entries.pop(key)
        self._used -= len(data)

    def sweep(self) -> int:
        """Drop every expired entry now; return how many were dropped."""
        now = self._clock()
        expired = [k for k, (_, at) in self._entries.items() if at is not None and at <= now]
        for key in expired:
            self._drop(key)
        self._sweep_at = max(64, 2 * len(self._entries))
        return len(expired)

    # ------------------------------------------------------------------ StorageBackend

    async def put(self, key: str, data: bytes, ttl: float | None) -> None:
        """Store ``data`` under ``key``.

        Raises:
            StorageError: The store would hold more than ``capacity`` bytes.
        """
        if len(self._entries) >= self._sweep_at:
            self.sweep()
        old = self._entries.get(key)
        growth = len(data) - (len(old[0]) if old is not None else 0)
        if self._used + growth > self.capacity:
            self.sweep()
            old = self._entries.get(key)
            growth = len(data) - (len(old[0]) if old is not None else 0)
            if self._used + growth > self.capacity:
                raise StorageError(
                    f"{self._label} is full: {self._used} of {self.capacity} bytes held, "
                    f"{len(data)} more asked for"
                )
        expires_at = None if ttl is None else self._clock() + ttl
        self._entries[key] = (data, expires_at)
        self._used += growth

    async def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or ``None``."""
        return self._live(key)

    async def delete(self, key: str) -> bool:
        """Delete ``key``; whether it held unexpired content."""
        if self._live(key) is None:
            return False
        self._drop(key)
        return True

    async def exists(self, key: str) -> bool:
        """Whether ``key`` holds unexpired content."""
        return self._live(key) is not None

    async def ping(self) -> None:
        """The process's memory always answers."""

    async def aclose(self) -> None:
        """Nothing to release; the content stays for the other users of the store."""

    def describe(self) -> str:
        """``memory://`` or ``memory://name``."""
        return self._label


def _store_name(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "memory":
        raise ValueError("not a memory:// URL")
    if parts.query or parts.fragment:
        raise ConfigurationError("a memory:// content store URL takes no query or fragment")
    return (parts.netloc + parts.path).strip("/")


def memory_storage_for(url: str = "memory://") -> MemoryStorage:
    """The process's shared store for a ``memory://`` URL (created on first use).

    Example:
        ```python
        assert memory_storage_for("memory://") is memory_storage_for("memory://")
        ```
    """
    name = _store_name(url)
    if name not in _STORES:
        _STORES[name] = MemoryStorage(label=f"memory://{name}")
    return _STORES[name]


def forget_memory_storage(url: str) -> None:
    """Drop the process's store for ``url`` with its content; the next use makes a new one.

    Test harnesses call this when they are done, so that a long test session does not
    keep every store.
    """
    _STORES.pop(_store_name(url), None)
