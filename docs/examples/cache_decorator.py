"""The `cached` decorator: an async function's results, keyed by its arguments.

Run it as is (``python docs/examples/cache_decorator.py``); it uses the in-memory cache.
"""

from __future__ import annotations

import asyncio

from svckit.cache import Cache, cached

cache = Cache.from_url("memory://", namespace="media")
renders: list[str] = []


# --8<-- [start:decorate]
@cached(cache, ttl=600, key="thumbnail:{media_id}:{width}")
async def thumbnail(media_id: str, width: int = 320) -> bytes:
    renders.append(media_id)  # stands in for slow image work
    return f"{media_id}@{width}px".encode()


# --8<-- [end:decorate]


async def main() -> None:
    async with cache:
        assert await thumbnail("photo-7") == b"photo-7@320px"  # rendered
        assert await thumbnail("photo-7") == b"photo-7@320px"  # from the cache
        assert renders == ["photo-7"]
        assert thumbnail.key("photo-7") == "thumbnail:photo-7:320"

        # --8<-- [start:invalidate]
        await thumbnail.invalidate("photo-7")  # the photo was replaced
        # --8<-- [end:invalidate]
        await thumbnail("photo-7")
        assert renders == ["photo-7", "photo-7"]
        print("cached decorator: ok")


if __name__ == "__main__":
    asyncio.run(main())
