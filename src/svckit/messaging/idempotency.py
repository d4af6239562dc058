"""The idempotency inbox: a message id already processed is acknowledged and skipped.

A consumer with ``idempotent=True`` asks its inbox before running the handler:

- ``new``: nobody has this message id; the inbox holds a short *lease* on it for the
  consumer (the *holder*, a token unique to this one delivery) while the handler runs,
  so a duplicate delivered meanwhile is not processed twice. The consumer renews the
  lease while the handler runs, so a handler may take longer than the lease; one that
  was killed stops renewing, and its message is free again when the lease runs out;
- ``done``: it was processed; the message is acknowledged without running the handler;
- ``busy``: another consumer holds the lease right now; the message waits in a delay
  queue and comes back.

The id is marked done only after the handler returned, and the lease is released when
it failed, so a crash or a failure never marks a message done that was not. Only the
holder renews or releases a lease: one that lost it (it expired, another consumer took
it) cannot extend or drop the new holder's.
"""

from __future__ import annotations

import time
from typing import Literal, Protocol

__all__ = ["IdempotencyStore", "InboxState", "KeyValueInbox", "MemoryInbox"]

InboxState = Literal["new", "done", "busy"]

_BUSY = "busy:"  # then the holder
_DONE = "done"


class IdempotencyStore(Protocol):
    """Where a consumer records which message ids it has processed."""

    async def begin(self, key: str, lease: float, *, holder: str) -> InboxState:
        """Claim ``key`` for ``holder`` for ``lease`` seconds, unless it is done or claimed."""
        ...

    async def renew(self, key: str, lease: float, *, holder: str) -> bool:
        """Make ``holder``'s claim on ``key`` last ``lease`` seconds from now.

        Returns:
            False when ``holder`` no longer holds ``key`` (the lease ran out, or the key
            is done); the claim is then left as it is.
        """
        ...

    async def complete(self, key: str, ttl: float) -> None:
        """Mark ``key`` done for ``ttl`` seconds."""
        ...

    async def release(self, key: str, *, holder: str) -> None:
        """Drop ``holder``'s claim on ``key`` after a failure, so a retry may take it."""
        ...


class KeyValue(Protocol):
    """The cache operations an inbox is built on (svckit's `Cache` has them)."""

    async def add(
        self, key: str, value: str, ttl: float | None = None, *, pin: bool = False
    ) -> bool:
        """Set ``key`` only if absent; True when set."""
        ...

    async def get(self, key: str, type_: type[str]) -> str | None:
        """Read ``key``."""
        ...

    async def set(
        self, key: str, value: str, ttl: float | None = None, *, pin: bool = False
    ) -> None:
        """Write ``key``."""
        ...

    async def extend(self, key: str, value: str, ttl: float) -> bool:
        """Reset ``key``'s expiry if it holds ``value`` (atomic)."""
        ...

    async def release(self, key: str, value: str) -> bool:
        """Delete ``key`` if it holds ``value`` (atomic)."""
        ...


class KeyValueInbox:
    """An inbox on a key-value cache (Redis through svckit's cache, or its memory backend).

    Its entries are pinned: a size-bounded memory cache never evicts a lease or a done
    mark to make room, since a done mark lost early lets a duplicate run again.

    Example:
        ```python
        inbox = KeyValueInbox(cache, prefix="inbox")
        ```
    """

    def __init__(self, store: KeyValue, prefix: str = "inbox") -> None:
        """Keep the inbox's keys under ``prefix`` in ``store``."""
        self._store = store
        self._prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self._prefix}:{key}"

    async def begin(self, key: str, lease: float, *, holder: str) -> InboxState:
        """Claim ``key`` with a lease, or say it is done or busy."""
        store, full, claim = self._store, self._key(key), _BUSY + holder
        if await store.add(full, claim, ttl=lease, pin=True):
            return "new"
        state = await store.get(full, str)
        if state == _DONE:
            return "done"
        if state is None:
            # The lease expired between the two calls: try once more.
            return "new" if await store.add(full, claim, ttl=lease, pin=True) else "busy"
        return "busy"

    async def renew(self, key: str, lease: float, *, holder: str) -> bool:
        """Extend ``holder``'s lease on ``key``, in one atomic step."""
        return await self._store.extend(self._key(key), _BUSY + holder, lease)

    async def complete(self, key: str, ttl: float) -> None:
        """Mark ``key`` done."""
        await self._store.set(self._key(key), _DONE, ttl=ttl, pin=True)

    async def release(self, key: str, *, holder: str) -> None:
        """Drop ``holder``'s claim on ``key``, in one atomic step."""
        await self._store.release(self._key(key), _BUSY + holder)


class MemoryInbox:
    """An in-process inbox with expiry; the default when a service has no cache."""

    def __init__(self, max_entries: int = 100_000) -> None:
        """Keep at most ``max_entries`` ids (the oldest are forgotten first)."""
        self._entries: dict[str, tuple[str, float]] = {}
        self._max_entries = max_entries

    def _state(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            del self._entries[key]
            return None
        return entry[0]

    def _put(self, key: str, state: str, ttl: float) -> None:
        self._entries.pop(key, None)
        self._entries[key] = (state, time.monotonic() + ttl)
        while len(self._entries) > self._max_entries:
            del self._entries[next(iter(self._entries))]

    async def begin(self, key: str, lease: float, *, holder: str) -> InboxState:
        """Claim ``key`` with a lease, or say it is done or busy."""
        state = self._state(key)
        if state is None:
            self._put(key, _BUSY + holder, lease)
            return "new"
        return "done" if state == _DONE else "busy"

    async def renew(self, key: str, lease: float, *, holder: str) -> bool:
        """Extend ``holder``'s lease on ``key``."""
        if self._state(key) != _BUSY + holder:
            return False
        self._entries[key] = (_BUSY + holder, time.monotonic() + lease)
        return True

    async def complete(self, key: str, ttl: float) -> None:
        """Mark ``key`` done."""
        self._put(key, _DONE, ttl)

    async def release(self, key: str, *, holder: str) -> None:
        """Drop ``holder``'s claim on ``key``."""
        if self._state(key) == _BUSY + holder:
            del self._entries[key]
