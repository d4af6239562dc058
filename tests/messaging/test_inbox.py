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
    assert await inbox.begin("m1", lease=30) == "new"
    assert await inbox.begin("m1", lease=30) == "busy"


async def test_a_completed_id_is_done(inbox: IdempotencyStore) -> None:
    assert await inbox.begin("m1", lease=30) == "new"
    await inbox.complete("m1", ttl=60)
    assert await inbox.begin("m1", lease=30) == "done"


async def test_a_released_claim_can_be_taken_again(inbox: IdempotencyStore) -> None:
    assert await inbox.begin("m1", lease=30) == "new"
    await inbox.release("m1")
    assert await inbox.begin("m1", lease=30) == "new"


async def test_an_expired_lease_frees_the_id(inbox: IdempotencyStore) -> None:
    # A consumer that died holding the claim does not block the message for ever.
    assert await inbox.begin("m1", lease=0.05) == "new"

    async def free_again() -> bool:
        state = await inbox.begin("m1", lease=30)
        return state == "new"

    await eventually(free_again, timeout=5, message="the lease to expire")


async def test_ids_are_independent(inbox: IdempotencyStore) -> None:
    assert await inbox.begin("a", lease=30) == "new"
    await inbox.complete("a", ttl=60)
    assert await inbox.begin("b", lease=30) == "new"
