"""The `ContentStore` resource: bytes by key, with a size limit and a time to live."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Self

from pydantic import SecretStr

from svckit.core.errors import ContentTooLargeError, StorageError
from svckit.core.health import Health
from svckit.core.logging import get_logger
from svckit.storage._keys import check_key
from svckit.storage._url import backend_from_url

if TYPE_CHECKING:
    from types import TracebackType

    from svckit.storage._backend import StorageBackend

__all__ = ["DEFAULT_MAX_SIZE", "ContentStore"]

#: The largest content a store takes unless told otherwise: 20 MiB.
DEFAULT_MAX_SIZE = 20 * 1024 * 1024

_log = get_logger(__name__)


def _seconds(ttl: float | timedelta | None) -> float | None:
    if ttl is None:
        return None
    value = ttl.total_seconds() if isinstance(ttl, timedelta) else float(ttl)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"a TTL must be a positive number of seconds, got {value}")
    return value


class ContentStore:
    """Content by key: what messages point at instead of carrying bytes.

    An API or a bot puts an upload under a key and publishes a message that names the
    key; a worker in another process gets the bytes by that key and puts its outputs
    beside them. The backend is chosen by URL with `from_url`: ``memory://`` (shared by
    every service in the process), ``redis://`` / ``rediss://``, or
    ``file:///absolute/path`` (a directory that several processes may mount).

    Content is bytes, stored and returned exactly; it is never decoded. Keys are checked
    (see `InvalidKeyError`) before they reach a backend, and content over ``max_size``
    is refused before anything is written. Every entry may have a time to live; one put
    without a TTL gets the store's ``ttl``. The store is not namespaced per service: it
    is what services share, so keys carry their own prefix (``media/original/<id>``).

    Example:
        ```python
        async with ContentStore.from_url("redis://localhost:6379/0") as store:
            await store.put("uploads/7/avatar", photo, ttl=3600)
            data = await store.get("uploads/7/avatar")
        ```

    Attributes:
        name: The resource name in health reports.
        backend: Where the bytes live.
        max_size: The largest content accepted, in bytes.
        ttl: Seconds an entry lives when its put gives no TTL; ``None`` keeps it until
            it is deleted.
    """

    def __init__(
        self,
        backend: StorageBackend,
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        ttl: float | timedelta | None = None,
        name: str = "storage",
    ) -> None:
        """Wrap a backend.

        Args:
            backend: The store, for example `MemoryStorage`, `FileStorage` or
                `RedisStorage`.
            max_size: The largest content accepted, in bytes.
            ttl: The default time to live of an entry (seconds or a timedelta).
            name: The resource name in health reports.
        """
        if max_size < 1:
            raise ValueError("max_size must be at least 1 byte")
        self.name = name
        self.backend = backend
        self.max_size = max_size
        self.ttl = _seconds(ttl)

    @classmethod
    def from_url(cls, url: str | SecretStr, **options: Any) -> ContentStore:
        """Create a store on the backend that ``url`` names.

        Args:
            url: ``memory://`` (or ``memory://name``), ``redis://...``, ``rediss://...``
                or ``file:///absolute/path``; a `SecretStr` (as in
                `ServiceSettings.storage_url`) is accepted.
            **options: Passed to the constructor (``max_size``, ``ttl``, ``name``).

        Raises:
            ConfigurationError: The scheme is not one of the above, or the file URL is
                not an absolute path.
            MissingExtraError: A Redis URL, but redis-py is not installed.
        """
        raw = url.get_secret_value() if isinstance(url, SecretStr) else url
        return cls(backend_from_url(raw), **options)

    # ------------------------------------------------------------------ Resource

    async def __aenter__(self) -> Self:
        """Check the backend; a store that is down still opens, and readiness says so."""
        try:
            await self.backend.ping()
        except StorageError as exc:
            _log.warning("content store unreachable", store=self.backend.describe(), error=str(exc))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Release the backend's connections."""
        await self.backend.aclose()

    async def health(self) -> Health:
        """Up when the backend answers; down (the service is not ready) when it does not."""
        try:
            await self.backend.ping()
        except StorageError as exc:
            return Health.down(str(exc))
        return Health.up(self.backend.describe())

    # ------------------------------------------------------------------ content

    async def put(
        self,
        key: str,
        data: bytes | bytearray | memoryview,
        *,
        ttl: float | timedelta | None = None,
    ) -> None:
        """Store ``data`` under ``key``, replacing what was there.

        Args:
            key: Letters, digits, ``.``, ``_``, ``-`` and ``/``-separated segments.
            data: The content: ``bytes``, ``bytearray`` or a ``memoryview``; never text.
            ttl: Seconds (or a timedelta) the entry lives; the store's ``ttl`` if None.

        Raises:
            InvalidKeyError: The key is not safe (nothing was written).
            ContentTooLargeError: ``data`` is over ``max_size`` (nothing was written).
            TypeError: ``data`` is text or another type that is not bytes.
            ValueError: ``ttl`` is not positive.
            StorageError: The backend failed.
        """
        check_key(key)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"content is bytes, not {type(data).__name__}; encode text first")
        size = memoryview(data).nbytes
        if size > self.max_size:
            raise ContentTooLargeError(size, self.max_size)
        seconds = self.ttl if ttl is None else _seconds(ttl)
        await self.backend.put(key, bytes(data), seconds)

    async def get(self, key: str) -> bytes | None:
        """The content under ``key``, or ``None`` if there is none or it expired.

        Raises:
            InvalidKeyError: The key is not safe.
            StorageError: The backend failed.
        """
        return await self.backend.get(check_key(key))

    async def delete(self, key: str) -> bool:
        """Delete the content under ``key``; whether there was any.

        Raises:
            InvalidKeyError: The key is not safe.
            StorageError: The backend failed.
        """
        return await self.backend.delete(check_key(key))

    async def exists(self, key: str) -> bool:
        """Whether ``key`` holds content that has not expired.

        Raises:
            InvalidKeyError: The key is not safe.
            StorageError: The backend failed.
        """
        return await self.backend.exists(check_key(key))
