"""The memory backend: one store per ``memory://`` name in the process, bounded in bytes."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from svckit import ConfigurationError
from svckit.storage import (
    ContentStore,
    MemoryStorage,
    StorageError,
    forget_memory_storage,
    memory_storage_for,
)

if TYPE_CHECKING:
    from collections.abc import Iterator


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def name() -> Iterator[str]:
    url = f"memory://test-{uuid.uuid4().hex}"
    yield url
    forget_memory_storage(url)


async def test_every_store_on_one_memory_url_shares_the_content(name: str) -> None:
    api, worker = ContentStore.from_url(name), ContentStore.from_url(name)
    async with api, worker:
        await api.put("uploads/1", b"photo")
        assert await worker.get("uploads/1") == b"photo"
    other = ContentStore.from_url(name + "-other")
    async with other:
        assert await other.get("uploads/1") is None
    forget_memory_storage(name + "-other")


async def test_closing_a_store_keeps_the_content_for_the_others(name: str) -> None:
    async with ContentStore.from_url(name) as first:
        await first.put("k", b"x")
    async with ContentStore.from_url(name) as second:
        assert await second.get("k") == b"x"


def test_the_default_url_names_one_store_and_forget_drops_it(name: str) -> None:
    assert memory_storage_for("memory://") is memory_storage_for("memory:///")
    first = memory_storage_for(name)
    assert memory_storage_for(name) is first
    forget_memory_storage(name)
    assert memory_storage_for(name) is not first


def test_a_memory_url_takes_no_query() -> None:
    with pytest.raises(ConfigurationError, match="no query"):
        ContentStore.from_url("memory://?capacity=10")


async def test_a_full_store_refuses_the_put_and_keeps_what_it_holds() -> None:
    store = ContentStore(MemoryStorage(capacity=10))
    await store.put("a", b"12345")
    await store.put("b", b"12345")
    with pytest.raises(StorageError, match="is full: 10 of 10 bytes held, 1 more asked for"):
        await store.put("c", b"1")
    assert await store.get("a") == b"12345"
    await store.put("a", b"123")  # replacing frees the old content's bytes
    await store.put("c", b"12")
    assert store.backend.used == 10  # type: ignore[attr-defined]


async def test_expired_content_makes_room_before_a_put_is_refused() -> None:
    clock = FakeClock()
    backend = MemoryStorage(capacity=10, clock=clock)
    store = ContentStore(backend)
    await store.put("old", b"1234567890", ttl=5)
    clock.now += 6
    await store.put("new", b"1234567890")
    assert await store.get("new") == b"1234567890"
    assert len(backend) == 1


async def test_expired_entries_are_swept_as_they_pile_up() -> None:
    clock = FakeClock()
    backend = MemoryStorage(clock=clock)
    store = ContentStore(backend)
    for i in range(64):
        await store.put(f"k{i}", b"x", ttl=1)
    clock.now += 2
    await store.put("fresh", b"y")  # the 65th entry sweeps the 64 that expired
    assert len(backend) == 1
    assert backend.used == 1


async def test_the_memory_store_is_always_up() -> None:
    store = ContentStore(MemoryStorage(label="memory://x"))
    health = await store.health()
    assert (health.status, health.detail) == ("up", "memory://x")
