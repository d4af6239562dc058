"""Caching basics: typed values, bytes, TTLs, counters and set-if-absent.

Run it as is (``python docs/examples/cache_basics.py``); it uses the in-memory cache.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from svckit.cache import Cache


class User(BaseModel):
    id: int
    name: str
    email: str


async def main(cache_url: str = "memory://", namespace: str = "users") -> None:
    async with Cache.from_url(cache_url, namespace=namespace) as cache:
        # A pydantic model in, the same model out (stored as JSON, never pickle).
        ada = User(id=1, name="Ada", email="ada@example.org")
        await cache.set("user:1", ada, ttl=300)
        assert await cache.get("user:1", User) == ada
        assert await cache.get("user:2", User) is None  # a miss

        # Anything a pydantic TypeAdapter handles works the same way.
        await cache.set("team:1", [1, 2, 3])
        assert await cache.get("team:1", list[int]) == [1, 2, 3]

        # Bytes are stored as they are and come back byte for byte.
        thumbnail = b"\x89PNG\r\n\x1a\n\x00\xff"
        await cache.set("thumbnail:1", thumbnail, ttl=3600)
        assert await cache.get("thumbnail:1", bytes) == thumbnail

        # Counters are atomic, across processes too on Redis.
        assert await cache.incr("views:user:1") == 1
        assert await cache.incr("views:user:1", 5) == 1 + 5
        await cache.hincr("uploads:2024-05-01", "photo")
        await cache.hincr("uploads:2024-05-01", "document", 2)
        assert await cache.hgetall("uploads:2024-05-01") == {"photo": 1, "document": 2}

        # Set-if-absent: the first claim wins, until its TTL runs out.
        assert await cache.add("claim:message-42", "worker-a", ttl=30) is True
        assert await cache.add("claim:message-42", "worker-b", ttl=30) is False

        assert await cache.delete("user:1") is True
        print("cache basics: ok")


if __name__ == "__main__":
    asyncio.run(main())
