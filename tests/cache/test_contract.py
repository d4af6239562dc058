"""The cache contract, run on the memory backend and on the real Redis."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel, Field

from svckit import CacheError, ConfigurationError
from svckit.cache import Cache
from svckit.core.health import HealthStatus

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    NewCache = Callable[..., Awaitable[Cache]]
    Eventually = Callable[..., Awaitable[None]]

pytestmark = pytest.mark.timeout(30)


class Address(BaseModel):
    city: str
    zip_code: str = Field(alias="zip")


class User(BaseModel):
    id: UUID
    name: str
    email: str
    created_at: datetime
    balance: Decimal
    tags: list[str] = []
    address: Address | None = None


def a_user(name: str = "ada") -> User:
    return User(
        id=uuid4(),
        name=name,
        email=f"{name}@example.org",
        created_at=datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        balance=Decimal("12.50"),
        tags=["admin"],
        address=Address(city="Paris", zip="75001"),
    )


# ---------------------------------------------------------------------- values


async def test_a_model_comes_back_equal_with_every_field(cache: Cache) -> None:
    user = a_user()
    await cache.set("user:1", user)
    assert await cache.get("user:1", User) == user


async def test_a_missing_key_reads_as_none(cache: Cache) -> None:
    assert await cache.get("nothing-here", User) is None


async def test_generic_types_round_trip(cache: Cache) -> None:
    await cache.set("scores", {"ada": [1, 2], "bob": []})
    assert await cache.get("scores", dict[str, list[int]]) == {"ada": [1, 2], "bob": []}


async def test_bytes_come_back_byte_for_byte(cache: Cache) -> None:
    thumbnail = bytes(range(256)) + os.urandom(64 * 1024) + b"\x00\xff\r\n"
    await cache.set("thumb", thumbnail)
    assert await cache.get("thumb", bytes) == thumbnail


async def test_plain_strings_round_trip(cache: Cache) -> None:
    await cache.set("s", "héllo \x00 wörld")
    assert await cache.get("s", str) == "héllo \x00 wörld"


async def test_set_replaces_the_value(cache: Cache) -> None:
    await cache.set("k", "old")
    await cache.set("k", "new")
    assert await cache.get("k", str) == "new"


async def test_a_value_of_another_type_is_an_error(cache: Cache) -> None:
    await cache.set("k", "not a user")
    with pytest.raises(CacheError, match="not a valid User"):
        await cache.get("k", User)


async def test_an_unserialisable_value_is_refused(cache: Cache) -> None:
    with pytest.raises(TypeError, match="cannot store a object"):
        await cache.set("k", object())


async def test_delete_removes_and_tells_whether_there_was_a_value(cache: Cache) -> None:
    await cache.set("k", "v")
    assert await cache.delete("k") is True
    assert await cache.get("k", str) is None
    assert await cache.delete("k") is False


async def test_a_ttl_expires_the_value(cache: Cache, eventually: Eventually) -> None:
    await cache.set("short", "v", ttl=0.05)
    await cache.set("long", "v", ttl=timedelta(minutes=5))

    async def expired() -> bool:
        return await cache.get("short", str) is None

    await eventually(expired, what="the short TTL expiring")
    assert await cache.get("long", str) == "v"


async def test_a_ttl_must_be_positive(cache: Cache) -> None:
    with pytest.raises(ValueError, match="TTL must be positive"):
        await cache.set("k", "v", ttl=0)


# ---------------------------------------------------------------------- set if absent


async def test_add_stores_only_when_absent(cache: Cache) -> None:
    assert await cache.add("msg:1", "first", ttl=60) is True
    assert await cache.add("msg:1", "second", ttl=60) is False
    assert await cache.get("msg:1", str) == "first"


async def test_add_is_atomic_under_concurrency(new_cache: NewCache) -> None:
    first, second = await new_cache(), await new_cache()
    results = await asyncio.gather(
        *(c.add("msg:race", f"claim-{i}", ttl=60) for i in range(20) for c in (first, second))
    )
    assert results.count(True) == 1


async def test_add_succeeds_again_after_its_ttl(cache: Cache, eventually: Eventually) -> None:
    assert await cache.add("claim", "a", ttl=0.05) is True

    async def claimed_again() -> bool:
        return await cache.add("claim", "b", ttl=60)

    await eventually(claimed_again, what="the claim expiring")
    assert await cache.get("claim", str) == "b"


async def test_add_succeeds_after_delete(cache: Cache) -> None:
    assert await cache.add("claim", "a") is True
    assert await cache.delete("claim") is True
    assert await cache.add("claim", "b") is True


# ---------------------------------------------------------------------- counters


async def test_counters_add_up_atomically(new_cache: NewCache) -> None:
    first, second = await new_cache(), await new_cache()
    await asyncio.gather(*(c.incr("views") for _ in range(50) for c in (first, second)))
    assert await first.incr("views", 0) == 100
    assert await first.incr("views", -10) == 90
    assert await second.get("views", int) == 90


async def test_a_counter_ttl_counts_from_creation(cache: Cache, eventually: Eventually) -> None:
    assert await cache.incr("daily", ttl=0.2) == 1
    assert await cache.incr("daily", 4, ttl=60) == 5  # keeps the first expiry

    async def reset() -> bool:
        return await cache.get("daily", int) is None

    await eventually(reset, what="the counter expiring")
    assert await cache.incr("daily") == 1


async def test_hash_counters(new_cache: NewCache) -> None:
    first, second = await new_cache(), await new_cache()
    await asyncio.gather(
        *(c.hincr("stats", "uploads") for _ in range(10) for c in (first, second)),
        first.hincr("stats", "thumbnails", 3),
    )
    assert await second.hgetall("stats") == {"uploads": 20, "thumbnails": 3}
    assert await first.hgetall("no-stats") == {}


async def test_hash_counter_ttl(cache: Cache, eventually: Eventually) -> None:
    await cache.hincr("window", "a", ttl=0.05)

    async def gone() -> bool:
        return await cache.hgetall("window") == {}

    await eventually(gone, what="the hash expiring")


async def test_a_key_of_another_kind_is_an_error(cache: Cache) -> None:
    await cache.hincr("stats", "a")
    await cache.set("plain", "text")
    with pytest.raises(CacheError):
        await cache.get("stats", str)
    with pytest.raises(CacheError):
        await cache.incr("plain")
    with pytest.raises(CacheError):
        await cache.hincr("plain", "a")


# ---------------------------------------------------------------------- namespaces


async def test_namespaces_keep_services_apart(new_cache: NewCache) -> None:
    users = await new_cache()
    other = Cache(users.backend, namespace=f"{users.namespace}-other")
    await users.set("k", "users")
    await other.set("k", "other")
    await other.clear()
    assert await users.get("k", str) == "users"
    assert await other.get("k", str) is None


async def test_an_invalid_namespace_is_refused(cache: Cache) -> None:
    with pytest.raises(ConfigurationError, match="invalid cache namespace"):
        Cache(cache.backend, namespace="a b*")


async def test_clear_empties_the_namespace(cache: Cache) -> None:
    await cache.set("a", "1")
    await cache.incr("b")
    await cache.delete("c")
    await cache.clear()
    assert await cache.get("a", str) is None
    assert await cache.get("b", int) is None


async def test_health_is_up(cache: Cache) -> None:
    health = await cache.health()
    assert health.status is HealthStatus.UP
    assert health.detail.startswith(("memory", "redis at 127.0.0.1:6379"))


async def test_extend_renews_only_the_holders_value(cache: Cache, eventually: Eventually) -> None:
    assert await cache.add("lease", "mine", ttl=0.3)
    assert not await cache.extend("lease", "theirs", ttl=30)
    assert await cache.extend("lease", "mine", ttl=30)
    assert not await cache.extend("missing", "mine", ttl=30)
    assert await cache.add("control", "mine", ttl=0.3)

    async def control_expired() -> bool:
        return await cache.get("control", str) is None

    await eventually(control_expired, what="the unextended value to expire")
    assert await cache.get("lease", str) == "mine"


async def test_release_deletes_only_the_holders_value(cache: Cache) -> None:
    assert await cache.add("lease", "mine", ttl=30, pin=True)
    assert not await cache.release("lease", "theirs")
    assert await cache.get("lease", str) == "mine"
    assert await cache.release("lease", "mine")
    assert await cache.get("lease", str) is None
    assert not await cache.release("lease", "mine")
