"""The `Cache` resource: typed values over a backend, namespaced per service."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Self, TypeVar, overload

from pydantic import SecretStr, ValidationError

from svckit.cache._backend import TTL, seconds
from svckit.cache._codec import decode, encode
from svckit.cache._counters import Counters
from svckit.cache._flight import SingleFlight
from svckit.cache._leases import Leases
from svckit.cache._loading import Loading, LoadOptions
from svckit.cache._telemetry import CacheTelemetry
from svckit.cache._url import backend_from_url
from svckit.core.errors import CacheError, ConfigurationError
from svckit.core.health import Health

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from types import TracebackType

    from opentelemetry.metrics import Meter

    from svckit.cache._backend import CacheBackend

__all__ = ["Cache"]

T = TypeVar("T")

_NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _type_name(type_: Any) -> str:
    return getattr(type_, "__qualname__", None) or repr(type_)


class Cache(Counters, Leases):
    """A typed cache: pydantic models, anything a pydantic TypeAdapter handles, raw bytes.

    Values are stored as JSON (bytes as they are, never pickle) under
    ``"{namespace}:{key}"``, so services sharing one Redis keep apart. The backend is
    chosen by URL with `from_url`: ``memory://`` (in the process) or ``redis://`` /
    ``rediss://``.

    `get_or_set` and `cached` are the read-through path: concurrent misses of a key load
    it once, a value loaded while the key was deleted or written is never stored (so no
    stale value comes back after an invalidation), and when the backend is down they
    fail open: the loader runs and its value is returned uncached. The other methods
    raise `svckit.CacheError` when the backend fails.

    Example:
        ```python
        async with Cache.from_url("redis://localhost:6379/0", namespace="users") as cache:
            user = await cache.get_or_set(f"user:{user_id}", User, load_user, ttl=300)
            ...
            await cache.delete(f"user:{user_id}")  # after the update is committed
        ```

    Attributes:
        name: The resource name in health reports.
        namespace: Prefixed to every key.
        backend: Where the bytes live.
    """

    def __init__(
        self,
        backend: CacheBackend,
        *,
        namespace: str,
        name: str = "cache",
        lock_ttl: float = 10.0,
        lock_wait: float = 3.0,
        max_load_time: float = 30.0,
        warn_interval: float = 60.0,
        meter: Meter | None = None,
    ) -> None:
        """Wrap a backend.

        Args:
            backend: The store, for example `MemoryBackend` or `RedisBackend`.
            namespace: Usually the service name; letters, digits, ``_``, ``.`` and ``-``.
            name: The resource name in health reports.
            lock_ttl: Seconds a load holds the cross-process lock of its key at most (if
                its process dies, the lock expires after this).
            lock_wait: Seconds a miss waits for another process's load of the same key
                before it runs its own loader.
            max_load_time: A load slower than this still returns its value, but does not
                store it: the delete marks that guard against stale values live
                ``2 * max_load_time``.
            warn_interval: Seconds between two warnings about a failing backend.
            meter: The OTel meter for the metrics; by default
                ``svckit.core.telemetry.get_meter(namespace)``.
        """
        if not _NAMESPACE.match(namespace):
            raise ConfigurationError(
                f"invalid cache namespace {namespace!r}: use letters, digits, '_', '.', '-'",
            )
        self.name = name
        self.namespace = namespace
        self.backend = backend
        self._prefix = f"{namespace}:"
        self._telemetry = CacheTelemetry(
            namespace, backend.describe, meter=meter, warn_interval=warn_interval
        )
        self._flights: SingleFlight[Any] = SingleFlight()
        self._loading = Loading(
            backend,
            self._telemetry,
            LoadOptions(
                internal=f"{namespace}#",
                lock_ttl=lock_ttl,
                lock_wait=lock_wait,
                max_load_time=max_load_time,
            ),
        )

    @classmethod
    def from_url(cls, url: str | SecretStr, *, namespace: str, **options: Any) -> Cache:
        """Create a cache on the backend that ``url`` names.

        Args:
            url: ``memory://`` (optionally ``memory://?max_size=10000``),
                ``redis://[[user]:password@]host[:port][/db]`` or ``rediss://...``; a
                `SecretStr` (as in `ServiceSettings.cache_url`) is accepted.
            namespace: Prefixed to every key; usually the service name.
            **options: Passed to the `Cache` constructor (``lock_wait``, ``meter``...).

        Raises:
            ConfigurationError: The scheme is not one of the above.
            MissingExtraError: A ``redis`` URL, but redis-py is not installed.
        """
        raw = url.get_secret_value() if isinstance(url, SecretStr) else url
        return cls(backend_from_url(raw), namespace=namespace, **options)

    # ------------------------------------------------------------------ Resource

    async def __aenter__(self) -> Self:
        """Check the backend; a cache that is down still opens, degraded (fail open)."""
        try:
            await self.backend.ping()
        except CacheError as exc:
            self._telemetry.failed(exc)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the backend's connections."""
        await self.backend.aclose()

    async def health(self) -> Health:
        """Up when the backend answers; degraded (still serving, uncached) when it does not."""
        try:
            await self.backend.ping()
        except CacheError:
            return Health.degraded(f"{self.backend.describe()} unreachable; failing open")
        if self._telemetry.failing:
            self._telemetry.recovered()
        return Health.up(self.backend.describe())

    # ------------------------------------------------------------------ values

    @overload
    async def get(self, key: str, type_: type[T]) -> T | None: ...
    @overload
    async def get(self, key: str, type_: Any) -> Any: ...
    async def get(self, key: str, type_: Any) -> Any:
        """The value under ``key`` read as ``type_``, or ``None`` if there is none.

        Args:
            key: The key, without the namespace.
            type_: A pydantic model, any type a pydantic TypeAdapter handles, or ``bytes``
                for the stored bytes as they are.

        Raises:
            CacheError: The backend failed, or the stored value is not a valid ``type_``.
        """
        telemetry = self._telemetry
        try:
            raw = await self.backend.get(self._prefix + key)
        except CacheError as exc:
            telemetry.failed(exc)
            raise
        if telemetry.failing:
            telemetry.recovered()
        if raw is None:
            telemetry.misses.add(1, telemetry.attributes)
            return None
        telemetry.hits.add(1, telemetry.attributes)
        try:
            return decode(raw, type_)
        except ValidationError as exc:
            telemetry.errors.add(1, telemetry.attributes)
            raise CacheError(
                f"the cached value under {key!r} is not a valid {_type_name(type_)}",
            ) from exc

    async def set(self, key: str, value: Any, ttl: TTL = None, *, pin: bool = False) -> None:
        """Store ``value`` under ``key``, replacing what was there.

        Args:
            key: The key, without the namespace.
            value: Bytes (stored as they are) or anything pydantic serialises to JSON.
            ttl: Seconds (or a timedelta) until the value expires; ``None`` keeps it.
            pin: Keep the value until its TTL ends, even when a size-bounded store
                (``memory://?max_size=``) is full; needs a TTL. On Redis, eviction is
                the server's ``maxmemory-policy``.

        Raises:
            CacheError: The backend failed.
            TypeError: The value cannot be serialised to JSON.
        """
        data = encode(value)
        try:
            await self.backend.set(self._prefix + key, data, seconds(ttl), pin=pin)
        except CacheError as exc:
            self._telemetry.failed(exc)
            raise
        if self._telemetry.failing:
            self._telemetry.recovered()

    async def add(self, key: str, value: Any, ttl: TTL = None, *, pin: bool = False) -> bool:
        """Store ``value`` only if ``key`` holds nothing (set-if-absent, atomic).

        ``pin`` as in `set`.

        Returns:
            True if the value was stored, False if the key already held one.

        Raises:
            CacheError: The backend failed.
        """
        data = encode(value)
        try:
            return await self.backend.add(self._prefix + key, data, seconds(ttl), pin=pin)
        except CacheError as exc:
            self._telemetry.failed(exc)
            raise

    async def delete(self, key: str) -> bool:
        """Delete ``key``, so that the next read loads a fresh value.

        A load of ``key`` that is in flight (in any process) will not store its value,
        which may predate the change that led to this delete. Call it after the change is
        committed.

        Returns:
            Whether the key held a value.

        Raises:
            CacheError: The backend failed; the key may still hold the old value.
        """
        try:
            return await self._loading.invalidate(self._prefix + key, key)
        except CacheError as exc:
            self._telemetry.failed(exc)
            raise

    async def get_or_set(
        self,
        key: str,
        type_: type[T] | Any,
        loader: Callable[[], Awaitable[T]],
        *,
        ttl: TTL = None,
    ) -> T:
        """The value under ``key``; on a miss, ``await loader()`` and store its result.

        Concurrent misses of one key run the loader once in this process, and a short
        Redis lock keeps other processes waiting (up to ``lock_wait``) for that load. A
        ``None`` result is returned but not stored. If the backend fails, the loader runs
        and its value is returned uncached (fail open).

        Args:
            key: The key, without the namespace.
            type_: The type to read the cached value as (see `get`).
            loader: Loads the value from the source of truth.
            ttl: Seconds (or a timedelta) the stored value lives; ``None`` keeps it.

        Raises:
            Exception: Whatever ``loader`` raises, to every caller waiting on it.
        """
        ttl_seconds = seconds(ttl)

        def load_through() -> Awaitable[T]:
            return self._loading.get_or_load(self._prefix + key, key, type_, loader, ttl_seconds)

        return await self._flights.run(key, load_through)  # type: ignore[no-any-return]

    async def clear(self) -> None:
        """Delete every key of this cache's namespace (and nothing else).

        Raises:
            CacheError: The backend failed.
        """
        try:
            await self.backend.clear(self._prefix)
            await self.backend.clear(self._loading.internal)
        except CacheError as exc:
            self._telemetry.failed(exc)
            raise
