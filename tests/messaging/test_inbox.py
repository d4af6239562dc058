"""The idempotency inbox contract: in memory, and on svckit's cache (memory and Redis)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
import redis.asyncio as redis

from svckit.cache import Cache
from svckit.messaging import IdempotencyStore, KeyValueInbox, MemoryInbox
from tests.messaging.conftest import eventually

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest.fixture(
    params=[
        pytest.param("memory-inbox", id="memory-inbox"),
        pytest.param("memory-cache", id="memory-cache"),
        pytest.param("redis-cache", id="redis-cache", marks=pytest.mark.redis),
    ],
)
async def inbox(request: pytest.FixtureRequest) -> AsyncIterator[IdempotencyStore]:
    if request.param == "memory-inbox":
        yield MemoryInbox()
        return
    url = "memory://" if request.param == "memory-cache" else "redis://127.0.0.1:6379/0"
    namespace = f"inbox-test-{uuid.uuid4().hex[:8]}"
    async with Cache.from_url(url, namespace=namespace) as cache:
        yield KeyValueInbox(cache)
    if url.startswith("redis"):
        # The shared server keeps nothing of the test's (values and their fences).
        client = redis.from_url(url)
        async with client:
            keys = [key async for key in client.scan_iter(f"{namespace}*")]
            if keys:
                await client.delete(*keys)


async def test_a_new_id_is_claimed_once(inbox: IdempotencyStore) -> None:
    assert await inbox.begin("m1", lease=30, holder="a") == "new"
    assert await inbox.begin("m1", lease=30, holder="b") == "busy"


async def test_a_completed_id_is_done(inbox: IdempotencyStore) -> None:
    assert await inbox.begin("m1", lease=30, holder="a") == "new"
    await inbox.complete("m1", ttl=60)
    assert await inbox.begin("m1", lease=30, holder="b") == "done"


async def test_a_released_claim_can_be_taken_again(inbox: IdempotencyStore) -> None:
    assert await inbox.begin("m1", lease=30, holder="a") == "new"
    await inbox.release("m1", holder="a")
    assert await inbox.begin("m1", lease=30, holder="b") == "new"


async def test_only_the_holder_releases_a_claim(inbox: IdempotencyStore) -> None:
    assert await inbox.begin("m1", lease=30, holder="a") == "new"
    await inbox.release("m1", holder="b")
    assert await inbox.begin("m1", lease=30, holder="c") == "busy"


async def test_an_expired_lease_frees_the_id(inbox: IdempotencyStore) -> None:
    # A consumer that died holding the claim does not block the message for ever.
    assert await inbox.begin("m1", lease=0.05, holder="dead") == "new"

    async def free_again() -> bool:
        state = await inbox.begin("m1", lease=30, holder="b")
        return state == "new"

    await eventually(free_again, timeout=5, message="the lease to expire")


async def test_ids_are_independent(inbox: IdempotencyStore) -> None:
    assert await inbox.begin("a", lease=30, holder="x") == "new"
    await inbox.complete("a", ttl=60)
    assert await inbox.begin("b", lease=30, holder="x") == "new"


async def test_the_holder_renews_its_lease_past_its_first_length(inbox: IdempotencyStore) -> None:
    assert await inbox.begin("renewed", lease=0.2, holder="a") == "new"
    assert await inbox.renew("renewed", lease=30, holder="a")
    # A claim of the same first length, not renewed: once it is free, the first one would
    # be too without the renewal.
    assert await inbox.begin("control", lease=0.2, holder="a") == "new"

    async def control_free() -> bool:
        return await inbox.begin("control", lease=30, holder="b") == "new"

    await eventually(control_free, timeout=5, message="the unrenewed lease to expire")
    assert await inbox.begin("renewed", lease=30, holder="b") == "busy"


async def test_only_the_holder_renews(inbox: IdempotencyStore) -> None:
    assert await inbox.begin("m1", lease=30, holder="a") == "new"
    assert not await inbox.renew("m1", lease=30, holder="b")
    assert not await inbox.renew("unknown", lease=30, holder="a")


async def test_a_lost_lease_is_not_renewed_over_the_new_holder(inbox: IdempotencyStore) -> None:
    assert await inbox.begin("m1", lease=0.05, holder="slow") == "new"

    async def taken_over() -> bool:
        return await inbox.begin("m1", lease=30, holder="next") == "new"

    await eventually(taken_over, timeout=5, message="the lease to expire")
    assert not await inbox.renew("m1", lease=30, holder="slow")
    await inbox.release("m1", holder="slow")  # nor released by it
    assert await inbox.begin("m1", lease=30, holder="third") == "busy"
    assert await inbox.renew("m1", lease=30, holder="next")


async def test_a_done_id_is_not_renewed(inbox: IdempotencyStore) -> None:
    assert await inbox.begin("m1", lease=30, holder="a") == "new"
    await inbox.complete("m1", ttl=60)
    assert not await inbox.renew("m1", lease=30, holder="a")
    assert await inbox.begin("m1", lease=30, holder="b") == "done"


async def test_done_marks_outlive_a_full_memory_cache() -> None:
    # The inbox shares the service's cache: filling it past its size bound must not
    # evict the done marks (a duplicate would then run again) nor the leases.
    async with Cache.from_url("memory://?max_size=10", namespace="full") as cache:
        inbox = KeyValueInbox(cache)
        assert await inbox.begin("done-one", lease=30, holder="a") == "new"
        await inbox.complete("done-one", ttl=3600)
        assert await inbox.begin("held-one", lease=30, holder="a") == "new"
        for n in range(100):
            await cache.set(f"value-{n}", n)
        assert await cache.get("value-0", int) is None  # the bound still evicts values
        assert await inbox.begin("done-one", lease=30, holder="b") == "done"
        assert await inbox.begin("held-one", lease=30, holder="b") == "busy"
