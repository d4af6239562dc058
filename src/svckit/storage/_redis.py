"""The Redis content store, on redis-py's asyncio client.

This is the storage module that imports ``redis`` (the cache's backend is the other).
Every redis-py error is translated into `svckit.StorageError` here, with the original
kept as ``__cause__``. The client never decodes responses, so content comes back exactly
as it was put. Keys are stored under a prefix (``content/`` by default); a cache key
always holds a ``:`` and a content key never does, so the two never meet in one database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from svckit.core._extras import require
from svckit.core.errors import ConfigurationError, StorageError

require("redis", "redis")

from redis.asyncio import Redis  # noqa: E402 - only after the install hint had its chance
from redis.asyncio.retry import Retry  # noqa: E402
from redis.backoff import NoBackoff  # noqa: E402
from redis.exceptions import RedisError  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Awaitable

__all__ = ["RedisStorage"]

#: Seconds to connect and to wait for a reply: longer than the cache's, since a reply may
#: carry megabytes of content.
DEFAULT_TIMEOUT = 5.0
DEFAULT_PREFIX = "content/"


class RedisStorage:
    """A `StorageBackend` on a Redis server (``redis://`` or ``rediss://``).

    Content lives under ``SET ... PX`` with Redis's own expiry. Redis refuses writes past
    its ``maxmemory`` (under ``noeviction``, the setting for content a message may still
    name); the put then fails with `svckit.StorageError`.

    Example:
        ```python
        store = ContentStore(RedisStorage.from_url("redis://localhost:6379/0"))
        ```
    """

    def __init__(self, client: Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        """Wrap a redis-py asyncio client; the backend closes it in `aclose`.

        Args:
            client: A client created with ``decode_responses=False`` (the default).
            prefix: Put in front of every key in Redis.

        Raises:
            ConfigurationError: The client decodes responses, which would corrupt bytes.
        """
        kwargs = client.connection_pool.connection_kwargs
        if kwargs.get("decode_responses"):
            raise ConfigurationError(
                "the content store needs a Redis client with decode_responses=False; "
                "remove decode_responses from the storage URL",
            )
        self._client = client
        self._prefix = prefix
        self._where = _where(kwargs)

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = DEFAULT_PREFIX, timeout: float = DEFAULT_TIMEOUT
    ) -> RedisStorage:
        """Connect lazily to the server at ``url``.

        Query parameters of the URL (``socket_timeout``, ``ssl_cert_reqs``...) are passed
        to redis-py and win over the defaults here.

        Args:
            url: ``redis://[[user]:password@]host[:port][/db]`` or ``rediss://...``.
            prefix: Put in front of every key in Redis.
            timeout: Seconds to connect and to wait for each reply.
        """
        client = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            # One immediate retry replaces a pooled connection that died with the server.
            retry=Retry(NoBackoff(), 1),
        )
        return cls(client, prefix=prefix)

    def describe(self) -> str:
        """``redis at host:port/db``; never the password."""
        return f"redis at {self._where}"

    async def _call(self, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except (RedisError, OSError) as exc:
            raise StorageError(
                f"content store on redis at {self._where} failed: {type(exc).__name__}: {exc}"
            ) from exc

    # ------------------------------------------------------------------ StorageBackend

    async def put(self, key: str, data: bytes, ttl: float | None) -> None:
        """``SET`` the content, with ``PX`` when it has a TTL."""
        px = None if ttl is None else max(1, round(ttl * 1000))
        await self._call(self._client.set(self._prefix + key, data, px=px))

    async def get(self, key: str) -> bytes | None:
        """``GET``."""
        return cast("bytes | None", await self._call(self._client.get(self._prefix + key)))

    async def delete(self, key: str) -> bool:
        """``DEL``; whether the key existed."""
        return bool(await self._call(self._client.delete(self._prefix + key)))

    async def exists(self, key: str) -> bool:
        """``EXISTS``."""
        return bool(await self._call(self._client.exists(self._prefix + key)))

    async def ping(self) -> None:
        """``PING``."""
        await self._call(self._client.ping())

    async def aclose(self) -> None:
        """Close the client and its connection pool."""
        await self._call(self._client.aclose())


def _where(kwargs: dict[str, Any]) -> str:
    if "path" in kwargs:
        return f"unix:{kwargs['path']}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
