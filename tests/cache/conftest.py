"""Fixtures of the cache tests: one store per test (memory or the real Redis), unique keys."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, Sum

from svckit.cache import Cache, MemoryBackend

REDIS_URL = "redis://127.0.0.1:6379/0"

NewCache = Callable[..., Awaitable[Cache]]
Eventually = Callable[..., Awaitable[None]]
ReadCounter = Callable[[str], int]


async def _eventually(
    check: Callable[[], Awaitable[bool]], *, timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll ``check`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not hold within {timeout} s")
        await asyncio.sleep(0.01)


@pytest.fixture
def eventually() -> Eventually:
    """``await eventually(check, what=...)`` polls an async check until it holds."""
    return _eventually


def unique_namespace() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("redis", id="redis", marks=pytest.mark.redis),
    ]
)
async def new_cache(request: pytest.FixtureRequest) -> AsyncIterator[NewCache]:
    """Opens caches on one store and namespace, as separate processes would share them.

    On memory, they share one `MemoryBackend`; on Redis, each has its own client. Every
    key of the namespace is deleted afterwards.
    """
    namespace = unique_namespace()
    shared = MemoryBackend()
    opened: list[Cache] = []

    async def open_cache(**options: Any) -> Cache:
        if request.param == "memory":
            cache = Cache(shared, namespace=namespace, **options)
        else:
            cache = Cache.from_url(REDIS_URL, namespace=namespace, **options)
        opened.append(await cache.__aenter__())
        return cache

    yield open_cache
    if opened:
        await opened[0].clear()
    for cache in reversed(opened):
        await cache.__aexit__(None, None, None)


@pytest.fixture
async def cache(new_cache: NewCache) -> Cache:
    return await new_cache()


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(metric_reader: InMemoryMetricReader) -> MeterProvider:
    return MeterProvider(metric_readers=[metric_reader])


@pytest.fixture
def read_counter(metric_reader: InMemoryMetricReader) -> ReadCounter:
    """``read_counter(name)``: the total of a counter over its data points (0 if unused)."""

    def read(name: str) -> int:
        data = metric_reader.get_metrics_data()
        total = 0
        if data is None:
            return total
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name and isinstance(metric.data, Sum):
                        total += sum(int(point.value) for point in metric.data.data_points)
        return total

    return read
