"""Read-through loading on both backends: single-flight, cross-process lock, no stale value."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from pydantic import BaseModel

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from svckit.cache import Cache

    NewCache = Callable[..., Awaitable[Cache]]
    Eventually = Callable[..., Awaitable[None]]

pytestmark = pytest.mark.timeout(30)


class Profile(BaseModel):
    id: int
    name: str


class Database:
    """Stands in for the source of truth; counts reads and can hold a read midway."""

    def __init__(self) -> None:
        self.rows = {1: Profile(id=1, name="old")}
        self.reads = 0
        self.read_started = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def load(self) -> Profile:
        self.reads += 1
        row = self.rows[1]  # the read happens here, before the pause
        self.read_started.set()
        await self.release.wait()
        return row

    def hold_reads(self) -> None:
        self.release.clear()


async def test_a_miss_loads_and_stores_then_hits(cache: Cache) -> None:
    db = Database()
    assert await cache.get_or_set("profile:1", Profile, db.load, ttl=60) == db.rows[1]
    assert await cache.get_or_set("profile:1", Profile, db.load, ttl=60) == db.rows[1]
    assert db.reads == 1
    assert await cache.get("profile:1", Profile) == db.rows[1]


async def test_a_hundred_concurrent_misses_load_once(cache: Cache) -> None:
    db = Database()
    db.hold_reads()
    calls = [
        asyncio.create_task(cache.get_or_set("profile:1", Profile, db.load)) for _ in range(100)
    ]
    await db.read_started.wait()
    db.release.set()
    results = await asyncio.gather(*calls)
    assert db.reads == 1
    assert all(result == db.rows[1] for result in results)


async def test_misses_in_two_processes_load_once(new_cache: NewCache) -> None:
    """A second process waits on the lock for the first one's load instead of loading."""
    first, second = await new_cache(), await new_cache()
    db = Database()
    db.hold_reads()
    follower_waits = asyncio.Event()
    add = second.backend.add

    async def watched_add(key: str, value: bytes, ttl: float | None, *, pin: bool = False) -> bool:
        added = await add(key, value, ttl, pin=pin)
        if key.endswith("lock:profile:1") and not added:
            follower_waits.set()
        return added

    second.backend.add = watched_add  # type: ignore[method-assign]
    leader = asyncio.create_task(first.get_or_set("profile:1", Profile, db.load))
    await db.read_started.wait()
    follower = asyncio.create_task(second.get_or_set("profile:1", Profile, db.load))
    await follower_waits.wait()  # the follower found the leader's lock taken
    db.release.set()
    assert await leader == await follower == db.rows[1]
    assert db.reads == 1


async def test_a_none_result_is_not_stored(cache: Cache) -> None:
    loads = 0

    async def load() -> Profile | None:
        nonlocal loads
        loads += 1
        return None

    assert await cache.get_or_set("ghost", Profile | None, load) is None
    assert await cache.get_or_set("ghost", Profile | None, load) is None
    assert loads == 2


async def test_a_loader_error_reaches_the_caller_and_stores_nothing(cache: Cache) -> None:
    async def broken() -> Profile:
        raise LookupError("row is gone")

    with pytest.raises(LookupError, match="row is gone"):
        await cache.get_or_set("p", Profile, broken)
    assert await cache.get("p", Profile) is None
    assert await cache.get_or_set("p", Profile, Database().load) == Profile(id=1, name="old")


async def test_a_value_of_an_old_schema_is_replaced(cache: Cache) -> None:
    await cache.set("profile:1", {"id": 1})  # written before `name` existed
    db = Database()
    assert await cache.get_or_set("profile:1", Profile, db.load) == db.rows[1]
    assert await cache.get("profile:1", Profile) == db.rows[1]


# ---------------------------------------------------------------------- no stale value


async def test_a_delete_during_a_load_keeps_the_old_value_out(cache: Cache) -> None:
    """The race: a read loads the old row, the update commits and deletes, the read ends."""
    db = Database()
    db.hold_reads()
    reader = asyncio.create_task(cache.get_or_set("profile:1", Profile, db.load))
    await db.read_started.wait()  # the reader holds the old row
    db.rows[1] = Profile(id=1, name="new")  # the update commits...
    await cache.delete("profile:1")  # ...then invalidates
    db.release.set()
    assert (await reader).name == "old"  # that reader saw the world before the update
    assert await cache.get("profile:1", Profile) is None  # but did not store it
    assert (await cache.get_or_set("profile:1", Profile, db.load)).name == "new"


async def test_a_write_during_a_load_is_not_overwritten(cache: Cache) -> None:
    db = Database()
    db.hold_reads()
    reader = asyncio.create_task(cache.get_or_set("profile:1", Profile, db.load))
    await db.read_started.wait()
    db.rows[1] = Profile(id=1, name="new")
    await cache.set("profile:1", db.rows[1])  # write-through instead of delete
    db.release.set()
    assert (await reader).name == "old"
    assert await cache.get("profile:1", Profile) == Profile(id=1, name="new")


async def test_a_delete_in_another_process_keeps_the_old_value_out(new_cache: NewCache) -> None:
    reader_side, writer_side = await new_cache(), await new_cache()
    db = Database()
    db.hold_reads()
    reader = asyncio.create_task(reader_side.get_or_set("profile:1", Profile, db.load))
    await db.read_started.wait()
    db.rows[1] = Profile(id=1, name="new")
    await writer_side.delete("profile:1")
    db.release.set()
    await reader
    assert (await reader_side.get_or_set("profile:1", Profile, db.load)).name == "new"


async def test_a_load_slower_than_max_load_time_is_not_stored(new_cache: NewCache) -> None:
    # Any load outlasts a nanosecond: its fence could have expired, so it stores nothing.
    cache = await new_cache(max_load_time=1e-9)
    db = Database()
    assert (await cache.get_or_set("profile:1", Profile, db.load)).name == "old"
    assert await cache.get("profile:1", Profile) is None
    assert db.reads == 1
