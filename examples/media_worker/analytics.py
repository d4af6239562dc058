"""Analytics counters: messages per topic per hour, and per topic per user.

The worker counts every message on the bus into hash counters in the cache (atomic
``hincr``, so several worker processes count together). Other services read them with
`AnalyticsReader`::

    reader = AnalyticsReader.from_url("redis://localhost:6379/0")
    async with reader:
        this_hour = await reader.hour(datetime.now(UTC))   # {"user.created": 3, ...}
        mine = await reader.user(7)                          # {"media.processed": 2, ...}

Keys, inside the ``analytics`` namespace::

    hour:<YYYY-MM-DDTHH>    one field per topic; UTC hours; kept for ``hourly_ttl``
    user:<user id>          one field per topic, for messages whose body has a user_id
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Self

from examples.media_worker.cached import CacheResource
from svckit.cache import Cache

if TYPE_CHECKING:
    from pydantic import SecretStr


__all__ = [
    "DEFAULT_NAMESPACE",
    "AnalyticsReader",
    "hour_key",
    "record",
    "user_id_of",
    "user_key",
]

#: The cache namespace the counters live in unless a service chooses another.
DEFAULT_NAMESPACE = "analytics"
#: How long an hour's counters are kept by default.
HOURLY_TTL = 30 * 24 * 3600.0
#: The longest range `AnalyticsReader.hours` reads (one call per hour).
MAX_HOURS = 31 * 24
_USER_ID_LIMIT = 64


def hour_key(at: datetime) -> str:
    """The key of the counters of the UTC hour that ``at`` falls in (naive means UTC)."""
    return f"hour:{_utc(at):%Y-%m-%dT%H}"


def user_key(user_id: int | str) -> str:
    """The key of one user's counters."""
    return f"user:{user_id}"


def user_id_of(body: bytes) -> int | str | None:
    """The ``user_id`` of a JSON object body, if it has a usable one."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    user_id = value.get("user_id") if isinstance(value, dict) else None
    if isinstance(user_id, bool):
        return None
    if isinstance(user_id, int):
        return user_id
    if isinstance(user_id, str) and 0 < len(user_id) <= _USER_ID_LIMIT and user_id.isprintable():
        return user_id
    return None


async def record(
    cache: Cache,
    topic: str,
    *,
    at: datetime,
    user_id: int | str | None = None,
    hourly_ttl: float = HOURLY_TTL,
) -> None:
    """Count one message of ``topic``, in its hour and for its user.

    Args:
        cache: The cache in the analytics namespace.
        topic: The message's topic.
        at: When the message was published (its hour is counted, not the current one).
        user_id: The user the message is about, if any.
        hourly_ttl: Seconds an hour's counters live from their first count.
    """
    await cache.hincr(hour_key(at), topic, ttl=hourly_ttl)
    if user_id is not None:
        await cache.hincr(user_key(user_id), topic)


class AnalyticsReader(CacheResource):
    """Reads the counters the media worker keeps; a resource for other services.

    Attributes:
        name: The resource's name in health reports.
        cache: The cache in the analytics namespace.
    """

    def __init__(self, cache: Cache, *, name: str = "analytics") -> None:
        """Read from ``cache`` (a `Cache` in the analytics namespace)."""
        super().__init__(cache, name=name)

    @classmethod
    def from_url(cls, url: str | SecretStr, *, namespace: str = DEFAULT_NAMESPACE) -> Self:
        """A reader on the cache that ``url`` names."""
        return cls(Cache.from_url(url, namespace=namespace))

    async def hour(self, at: datetime) -> dict[str, int]:
        """Messages per topic in the UTC hour that ``at`` falls in."""
        return await self.cache.hgetall(hour_key(at))

    async def hours(self, since: datetime, until: datetime) -> dict[datetime, dict[str, int]]:
        """Messages per topic for each hour from ``since`` to ``until`` (both included).

        Hours with no message are left out. Keys are the hours' starts, in UTC.

        Raises:
            ValueError: The range spans more than `MAX_HOURS` hours.
        """
        start = _utc(since).replace(minute=0, second=0, microsecond=0)
        end = _utc(until)
        if end - start > timedelta(hours=MAX_HOURS):
            raise ValueError(f"read at most {MAX_HOURS} hours at once")
        result: dict[datetime, dict[str, int]] = {}
        current = start
        while current <= end:
            counts = await self.hour(current)
            if counts:
                result[current] = counts
            current += timedelta(hours=1)
        return result

    async def user(self, user_id: int | str) -> dict[str, int]:
        """Messages per topic about one user, since counting began."""
        return await self.cache.hgetall(user_key(user_id))


def _utc(at: datetime) -> datetime:
    # AMQP timestamps arrive naive, in UTC.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
