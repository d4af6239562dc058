"""Choosing a content store backend by URL scheme."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from svckit.core.errors import ConfigurationError
from svckit.storage._file import FileStorage
from svckit.storage._memory import memory_storage_for

if TYPE_CHECKING:
    from svckit.storage._backend import StorageBackend

__all__ = ["backend_from_url"]


def backend_from_url(url: str) -> StorageBackend:
    """The backend that ``url`` names.

    ``memory://`` (the process's shared store; ``memory://name`` another one),
    ``redis://`` / ``rediss://``, or ``file:///absolute/path``.

    Raises:
        ConfigurationError: Another scheme, or a file URL that is not an absolute path.
        MissingExtraError: A Redis URL, but redis-py is not installed.
    """
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return memory_storage_for(url)
    if parts.scheme in {"redis", "rediss"}:
        from svckit.storage._redis import RedisStorage  # noqa: PLC0415 - an optional extra

        return RedisStorage.from_url(url)
    if parts.scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in {"", "localhost"} or not path.startswith("/"):
            raise ConfigurationError(
                "a file:// content store URL names an absolute directory: file:///var/lib/media"
            )
        if parts.query or parts.fragment or "\x00" in path:
            raise ConfigurationError("a file:// content store URL takes no query or fragment")
        return FileStorage(path)
    # The URL may hold a password: name only its scheme.
    raise ConfigurationError(
        f"unsupported content store URL scheme {parts.scheme!r}: "
        "use memory://, redis://, rediss:// or file:///path",
    )
