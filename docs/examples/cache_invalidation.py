"""How-to: cache a read, and invalidate it when the data changes.

Run it as is (``python docs/examples/cache_invalidation.py``); it uses the in-memory
cache. Pass a ``redis://`` URL to `main` to run it on Redis.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from svckit.cache import Cache


class User(BaseModel):
    id: int
    name: str
    email: str


class UserTable:
    """Stands in for your database table (SQLAlchemy, an HTTP service...)."""

    def __init__(self) -> None:
        self.rows = {1: User(id=1, name="Ada", email="ada@example.org")}
        self.selects = 0

    async def select(self, user_id: int) -> User | None:
        self.selects += 1
        return self.rows.get(user_id)

    async def update(self, user: User) -> None:
        self.rows[user.id] = user  # committed when this returns


class Users:
    """Reads go through the cache; writes go to the table, then invalidate."""

    def __init__(self, table: UserTable, cache: Cache) -> None:
        self.table = table
        self.cache = cache

    # --8<-- [start:read]
    async def get(self, user_id: int) -> User | None:
        return await self.cache.get_or_set(
            f"user:{user_id}",
            User,
            lambda: self.table.select(user_id),
            ttl=300,  # a safety net: even a missed invalidation heals in 5 minutes
        )

    # --8<-- [end:read]

    # --8<-- [start:write]
    async def rename(self, user_id: int, name: str) -> User:
        current = await self.table.select(user_id)  # write from the source, not the cache
        if current is None:
            raise LookupError(user_id)
        updated = current.model_copy(update={"name": name})
        await self.table.update(updated)  # 1. commit the change
        await self.cache.delete(f"user:{user_id}")  # 2. then invalidate
        return updated

    # --8<-- [end:write]


async def main(cache_url: str = "memory://", namespace: str = "users") -> None:
    table = UserTable()
    # --8<-- [start:open]
    async with Cache.from_url(cache_url, namespace=namespace) as cache:
        users = Users(table, cache)
        # --8<-- [end:open]

        first = await users.get(1)  # a miss: read from the table, then cached
        again = await users.get(1)  # a hit
        assert first == again
        assert first is not None
        assert first.name == "Ada"
        assert table.selects == 1

        await users.rename(1, "Ada Lovelace")
        renamed = await users.get(1)  # the next read loads the new row
        assert renamed is not None
        assert renamed.name == "Ada Lovelace"

        # Unknown users are not cached: every read asks the table.
        assert await users.get(404) is None
        print("cache invalidation: ok")


if __name__ == "__main__":
    asyncio.run(main())
