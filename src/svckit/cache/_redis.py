"""The Redis cache backend, on redis-py's asyncio client.

This is the only svckit module that imports ``redis``. Every redis-py error is translated
into `svckit.CacheError` here, with the original kept as ``__cause__``. The client never
decodes responses, so bytes come back exactly as they were stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from svckit.core._extras import require
from svckit.core.errors import CacheError, ConfigurationError

require("redis", "redis")

from redis.asyncio import Redis  # noqa: E402 - only after the install hint had its chance
from redis.asyncio.retry import Retry  # noqa: E402
from redis.backoff import NoBackoff  # noqa: E402
from redis.exceptions import RedisError  # noqa: E402

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

__all__ = ["RedisBackend"]

#: Keys asked for per SCAN step and deleted per UNLINK when clearing a namespace.
_BATCH = 500

#: Seconds to connect and to wait for a reply. Short, because a cache that is slow to
#: fail holds up every request that it was meant to speed up.
DEFAULT_TIMEOUT = 1.0

_DELETE = """
local existed = redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return existed
"""

_FILL = """
local fence = redis.call('GET', KEYS[2])
if fence == false then fence = '' end
if fence ~= ARGV[1] or redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

_INCR = """
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return total
"""

_HINCR = """
local total = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return total
"""


def _ms(ttl: float) -> int:
    return max(1, round(ttl * 1000))


class RedisBackend:
    """A `CacheBackend` on a Redis server (standalone; Redis Cluster is not supported).

    Example:
        ```python
        backend = RedisBackend.from_url("redis://localhost:6379/0")
        cache = Cache(backend, namespace="users")
        ```
    """

    def __init__(self, client: Redis) -> None:
        """Wrap a redis-py asyncio client; the backend closes it in `aclose`.

        Args:
            client: A client created with ``decode_responses=False`` (the default).

        Raises:
            ConfigurationError: The client decodes responses, which would corrupt bytes.
        """
        kwargs = client.connection_pool.connection_kwargs
        if kwargs.get("decode_responses"):
            raise ConfigurationError(
                "the cache needs a Redis client with decode_responses=False; "
                "remove decode_responses from the cache URL",
            )
        self._client = client
        self._where = _where(kwargs)
        self._delete = client.register_script(_DELETE)
        self._fill = client.register_script(_FILL)
        self._release = client.register_script(_RELEASE)
        self._extend = client.register_script(_EXTEND)
        self._incr = client.register_script(_INCR)
        self._hincr = client.register_script(_HINCR)

    @classmethod
    def from_url(cls, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> RedisBackend:
        """Connect lazily to the server at ``url`` (``redis://`` or ``rediss://``).

        Query parameters of the URL (``socket_timeout``, ``ssl_cert_reqs``...) are passed
        to redis-py and win over the defaults here.

        Args:
            url: ``redis://[[user]:password@]host[:port][/db]`` or ``rediss://...``.
            timeout: Seconds to connect and to wait for each reply.
        """
        client = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            # One immediate retry replaces a pooled connection that died with the server;
            # redis-py's default of ten retries with backoff would stall every call for
            # seconds during an outage, where the cache should fail fast and open.
            retry=Retry(NoBackoff(), 1),
        )
        return cls(client)

    def describe(self) -> str:
        """``redis at host:port/db``; never the password."""
        return f"redis at {self._where}"

    def _error(self, exc: Exception) -> CacheError:
        return CacheError(f"redis at {self._where} failed: {type(exc).__name__}: {exc}")

    async def _script(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise self._error(exc) from exc

    # ------------------------------------------------------------------ CacheBackend

    async def get(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or ``None``."""
        try:
            value = await self._client.get(key)
        except (RedisError, OSError) as exc:
            raise self._error(exc) from exc
        # The client never decodes responses (checked in __init__), so this is bytes.
        return cast("bytes | None", value)

    async def set(self, key: str, value: bytes, ttl: float | None, *, pin: bool = False) -> None:
        """Store ``value`` under ``key``.

        ``pin`` changes nothing here: what Redis evicts under memory pressure is the
        server's ``maxmemory-policy`` (``noeviction`` keeps every key until it expires).
        """
        del pin
        try:
            await self._client.set(key, value, px=None if ttl is None else _ms(ttl))
        except (RedisError, OSError) as exc:
            raise self._error(exc) from exc

    async def add(self, key: str, value: bytes, ttl: float | None, *, pin: bool = False) -> bool:
        """Store ``value`` if ``key`` holds nothing (``SET NX``); ``pin`` as in `set`."""
        del pin
        try:
            done = await self._client.set(key, value, nx=True, px=None if ttl is None else _ms(ttl))
        except (RedisError, OSError) as exc:
            raise self._error(exc) from exc
        return bool(done)

    async def delete(self, key: str, fence: str, token: bytes, fence_ttl: float) -> bool:
        """Delete ``key`` and set ``fence`` to ``token``, atomically (one script)."""
        existed = await self._script(self._delete, [key, fence], [token, _ms(fence_ttl)])
        return bool(existed)

    async def fill(
        self,
        key: str,
        value: bytes,
        ttl: float | None,
        fence: str,
        expected: bytes | None,
    ) -> bool:
        """Store ``value`` if ``key`` is empty and ``fence`` holds ``expected`` (one script)."""
        args = [expected or b"", value, b"" if ttl is None else _ms(ttl)]
        return bool(await self._script(self._fill, [key, fence], args))

    async def release(self, key: str, token: bytes) -> bool:
        """Delete ``key`` if it holds ``token`` (one script)."""
        return bool(await self._script(self._release, [key], [token]))

    async def extend(self, key: str, token: bytes, ttl: float) -> bool:
        """``PEXPIRE`` ``key`` if it holds ``token`` (one script)."""
        return bool(await self._script(self._extend, [key], [token, _ms(ttl)]))

    async def incr(self, key: str, amount: int, ttl: float | None) -> int:
        """``INCRBY``; with a TTL, also ``PEXPIRE`` when the counter has no expiry yet."""
        if ttl is not None:
            return int(await self._script(self._incr, [key], [amount, _ms(ttl)]))
        try:
            return int(await self._client.incrby(key, amount))
        except (RedisError, OSError) as exc:
            raise self._error(exc) from exc

    async def hincr(self, key: str, field: str, amount: int, ttl: float | None) -> int:
        """``HINCRBY``; with a TTL, also ``PEXPIRE`` when the hash has no expiry yet."""
        if ttl is not None:
            return int(await self._script(self._hincr, [key], [field, amount, _ms(ttl)]))
        try:
            return int(await self._client.hincrby(key, field, amount))
        except (RedisError, OSError) as exc:
            raise self._error(exc) from exc

    async def hgetall(self, key: str) -> dict[str, int]:
        """Every field of the hash under ``key``."""
        try:
            raw = await self._client.hgetall(key)
        except (RedisError, OSError) as exc:
            raise self._error(exc) from exc
        fields = cast("dict[bytes, bytes]", raw)
        return {field.decode(): int(value) for field, value in fields.items()}

    async def clear(self, prefix: str) -> None:
        """``SCAN`` for the keys under ``prefix`` and ``UNLINK`` them in batches."""
        batch: list[bytes] = []
        try:
            async for key in self._client.scan_iter(match=f"{prefix}*", count=_BATCH):
                batch.append(key)
                if len(batch) >= _BATCH:
                    await self._client.unlink(*batch)
                    batch.clear()
            if batch:
                await self._client.unlink(*batch)
        except (RedisError, OSError) as exc:
            raise self._error(exc) from exc

    async def ping(self) -> None:
        """``PING``."""
        try:
            await self._client.ping()
        except (RedisError, OSError) as exc:
            raise self._error(exc) from exc

    async def aclose(self) -> None:
        """Close the client and its connection pool."""
        try:
            await self._client.aclose()
        except (RedisError, OSError) as exc:
            raise self._error(exc) from exc


def _where(kwargs: dict[str, Any]) -> str:
    if "path" in kwargs:
        return f"unix:{kwargs['path']}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
