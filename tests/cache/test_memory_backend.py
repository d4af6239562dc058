"""The memory backend's own promises: a size limit with LRU eviction, and TTLs on a clock."""

from __future__ import annotations

import pytest

from svckit import CacheError
from svckit.cache import Cache, MemoryBackend


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def cache_on(backend: MemoryBackend) -> Cache:
    return Cache(backend, namespace="mem")


async def test_the_least_recently_used_entry_is_evicted_at_the_limit() -> None:
    backend = MemoryBackend(max_size=3)
    cache = cache_on(backend)
    for key in ("a", "b", "c"):
        await cache.set(key, key)
    assert await cache.get("a", str) == "a"  # "a" is now the most recently used
    await cache.set("d", "d")
    assert await cache.get("b", str) is None
    assert [await cache.get(key, str) for key in ("a", "c", "d")] == ["a", "c", "d"]
    assert len(backend) == 3


async def test_writes_and_counters_count_as_use() -> None:
    cache = cache_on(MemoryBackend(max_size=2))
    await cache.set("a", "a")
    await cache.incr("n")
    await cache.set("a", "a2")  # "n" is now the least recently used
    await cache.hincr("h", "f")
    assert await cache.get("n", int) is None
    assert await cache.get("a", str) == "a2"


async def test_the_size_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_size"):
        MemoryBackend(max_size=0)


async def test_from_url_reads_max_size() -> None:
    cache = Cache.from_url("memory://?max_size=2", namespace="mem")
    assert isinstance(cache.backend, MemoryBackend)
    assert cache.backend.max_size == 2


async def test_an_entry_lives_until_its_ttl(clock: FakeClock) -> None:
    cache = cache_on(MemoryBackend(clock=clock))
    await cache.set("k", "v", ttl=10)
    await cache.set("forever", "v")
    clock.advance(9.999)
    assert await cache.get("k", str) == "v"
    clock.advance(0.001)
    assert await cache.get("k", str) is None
    clock.advance(10**9)
    assert await cache.get("forever", str) == "v"


async def test_add_sees_an_expired_entry_as_absent(clock: FakeClock) -> None:
    cache = cache_on(MemoryBackend(clock=clock))
    assert await cache.add("claim", "a", ttl=5) is True
    clock.advance(4)
    assert await cache.add("claim", "b", ttl=5) is False
    clock.advance(1)
    assert await cache.add("claim", "b", ttl=5) is True


async def test_a_counter_keeps_the_expiry_of_its_creation(clock: FakeClock) -> None:
    cache = cache_on(MemoryBackend(clock=clock))
    await cache.incr("n", ttl=10)
    clock.advance(8)
    await cache.incr("n", ttl=10)
    await cache.hincr("h", "f", ttl=10)
    clock.advance(2)
    assert await cache.get("n", int) is None
    assert await cache.hgetall("h") == {"f": 1}
    clock.advance(8)
    assert await cache.hgetall("h") == {}


async def test_a_fence_outlives_eviction(clock: FakeClock) -> None:
    """Eviction must not drop a delete's fence, or a stale load could be stored."""
    backend = MemoryBackend(max_size=1, clock=clock)
    await backend.delete("k", "fence:k", b"token", 60)
    await backend.set("other", b"x", None)
    await backend.set("another", b"y", None)
    assert await backend.get("fence:k") == b"token"
    assert await backend.fill("k", b"stale", None, "fence:k", None) is False
    clock.advance(60)
    assert await backend.get("fence:k") is None


async def test_expired_fences_are_swept(clock: FakeClock) -> None:
    backend = MemoryBackend(clock=clock)
    for i in range(100):
        await backend.delete(f"old{i}", f"fence:old{i}", b"t", 1)
    clock.advance(1)
    for i in range(30):
        await backend.delete(f"new{i}", f"fence:new{i}", b"t", 1)
    assert len(backend._fences) <= 30


async def test_a_counter_on_text_is_an_error() -> None:
    cache = cache_on(MemoryBackend())
    await cache.set("k", "text")
    with pytest.raises(CacheError, match="not an integer"):
        await cache.incr("k")


async def test_closing_drops_everything() -> None:
    backend = MemoryBackend()
    async with cache_on(backend) as cache:
        await cache.set("k", "v")
    assert len(backend) == 0


async def test_pinned_entries_are_not_evicted_and_leave_at_their_ttl(clock: FakeClock) -> None:
    backend = MemoryBackend(max_size=3, clock=clock)
    cache = cache_on(backend)
    await cache.set("done", "done", ttl=60, pin=True)
    assert await cache.add("lease", "holder", ttl=10, pin=True)
    for n in range(50):
        await cache.set(f"v{n}", n)
    assert await cache.get("v0", int) is None  # plain values are still bounded
    assert await cache.get("done", str) == "done"
    assert await cache.get("lease", str) == "holder"
    clock.advance(10)
    assert await cache.get("lease", str) is None
    assert await cache.get("done", str) == "done"
    clock.advance(50)
    assert await cache.get("done", str) is None


async def test_expired_pinned_entries_are_swept_as_they_accumulate(clock: FakeClock) -> None:
    backend = MemoryBackend(max_size=10, clock=clock)
    cache = cache_on(backend)
    for n in range(1000):
        await cache.set(f"p{n}", n, ttl=1, pin=True)
        clock.advance(0.1)
    # Only the ones still live (about ten) and at most one sweep's worth of expired ones.
    assert len(backend) <= 128


async def test_a_pinned_entry_needs_a_ttl() -> None:
    cache = cache_on(MemoryBackend())
    with pytest.raises(ValueError, match="needs a TTL"):
        await cache.set("k", "v", pin=True)


async def test_an_extended_pinned_entry_stays_pinned(clock: FakeClock) -> None:
    backend = MemoryBackend(max_size=2, clock=clock)
    cache = cache_on(backend)
    assert await cache.add("lease", "me", ttl=5, pin=True)
    clock.advance(4)
    assert await cache.extend("lease", "me", ttl=5)
    for n in range(10):
        await cache.set(f"v{n}", n)
    clock.advance(4)
    assert await cache.get("lease", str) == "me"
    assert await cache.release("lease", "me")
    assert await cache.get("lease", str) is None
