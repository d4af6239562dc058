"""Choosing a cache backend by URL scheme."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from svckit.cache._memory import MemoryBackend
from svckit.core.errors import ConfigurationError

if TYPE_CHECKING:
    from svckit.cache._backend import CacheBackend

__all__ = ["backend_from_url"]


def backend_from_url(url: str) -> CacheBackend:
    """The backend that ``url`` names: ``memory://``, ``redis://`` or ``rediss://``.

    Raises:
        ConfigurationError: Another scheme, or an invalid ``max_size``.
        MissingExtraError: A Redis URL, but redis-py is not installed.
    """
    parts = urlsplit(url)
    if parts.scheme == "memory":
        raw_size = parse_qs(parts.query).get("max_size", ["10000"])[0]
        try:
            return MemoryBackend(max_size=int(raw_size))
        except ValueError as exc:
            raise ConfigurationError(
                f"invalid max_size {raw_size!r} in the memory:// cache URL: {exc}"
            ) from exc
    if parts.scheme in {"redis", "rediss"}:
        from svckit.cache._redis import RedisBackend  # noqa: PLC0415 - an optional extra

        return RedisBackend.from_url(url)
    # The URL may hold a password: name only its scheme.
    raise ConfigurationError(
        f"unsupported cache URL scheme {parts.scheme!r}: use memory://, redis:// or rediss://",
    )
