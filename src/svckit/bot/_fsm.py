"""`CacheStorage`: aiogram's FSM storage on svckit's cache (memory or Redis)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

if TYPE_CHECKING:
    from collections.abc import Mapping

    from svckit.cache import Cache

__all__ = ["CacheStorage"]


class CacheStorage(BaseStorage):
    """aiogram's FSM state and data in a `svckit.cache.Cache`, so a bot needs no other Redis.

    Every process of a bot on a Redis cache shares the states. The keys live in the
    cache's namespace (the service's name) under ``fsm:``.

    Example:
        ```python
        dispatcher = Dispatcher(storage=CacheStorage(service.cache))
        ```
    """

    def __init__(self, cache: Cache, *, ttl: float | None = None) -> None:
        """Keep states in ``cache``; ``ttl`` seconds after their last change (None: forever)."""
        self._cache = cache
        self._ttl = ttl

    @staticmethod
    def _key(key: StorageKey, part: str) -> str:
        return (
            f"fsm:{key.bot_id}:{key.chat_id}:{key.user_id}:{key.thread_id or ''}:"
            f"{key.business_connection_id or ''}:{key.destiny}:{part}"
        )

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        """Set the state (``None`` clears it)."""
        name = state.state if isinstance(state, State) else state
        if name is None:
            await self._cache.delete(self._key(key, "state"))
        else:
            await self._cache.set(self._key(key, "state"), name, ttl=self._ttl)

    async def get_state(self, key: StorageKey) -> str | None:
        """The state, or ``None``."""
        state: str | None = await self._cache.get(self._key(key, "state"), str)
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the data (empty clears it)."""
        if not data:
            await self._cache.delete(self._key(key, "data"))
        else:
            await self._cache.set(self._key(key, "data"), dict(data), ttl=self._ttl)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """The data (empty when there is none)."""
        data: dict[str, Any] | None = await self._cache.get(self._key(key, "data"), dict[str, Any])
        return data or {}

    async def close(self) -> None:
        """Nothing to close: the cache belongs to the service."""
