"""Caching: a typed cache resource on Redis or in memory.

`Cache` is the resource a service holds; `Cache.from_url` picks the backend:
``memory://`` (`MemoryBackend`, in the process) or ``redis://`` / ``rediss://``
(`RedisBackend`, which needs ``pip install "svckit[redis]"``). `cached` reads an async
function's results through a cache. A backend of your own implements `CacheBackend`.

`RedisBackend` loads on first use, so importing this package never imports redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from svckit.cache._backend import CacheBackend
from svckit.cache._cache import Cache
from svckit.cache._decorator import CachedFunction, cached
from svckit.cache._memory import MemoryBackend

if TYPE_CHECKING:
    from svckit.cache._redis import RedisBackend

__all__ = [
    "Cache",
    "CacheBackend",
    "CachedFunction",
    "MemoryBackend",
    "RedisBackend",
    "cached",
]


def __getattr__(name: str) -> Any:
    """Load `RedisBackend` (and with it redis-py) on first use (PEP 562)."""
    if name == "RedisBackend":
        from svckit.cache._redis import RedisBackend  # noqa: PLC0415 - an optional extra

        globals()[name] = RedisBackend
        return RedisBackend
    raise AttributeError(f"module 'svckit.cache' has no attribute {name!r}")
