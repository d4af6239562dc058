"""Fixtures of the content store tests: one store per test on each backend, cleaned up."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

from svckit.storage import ContentStore, FileStorage, MemoryStorage

if TYPE_CHECKING:
    from pathlib import Path

    from svckit.storage import StorageBackend

REDIS_URL = "redis://127.0.0.1:6379/0"

NewStore = Callable[..., Awaitable[ContentStore]]


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout: float = 10.0) -> None:
    """Poll ``check`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"the condition did not hold within {timeout} s")
        await asyncio.sleep(0.01)


async def _delete_redis_prefix(prefix: str) -> None:
    import redis.asyncio as redis  # noqa: PLC0415 - only for the Redis backend

    client = redis.from_url(REDIS_URL)
    async with client:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("redis", id="redis", marks=pytest.mark.redis),
        pytest.param("file", id="file"),
    ]
)
async def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[NewStore]:
    """``await new_store(**options)``: stores on one backend's data, as two processes share it.

    On memory they share one `MemoryStorage`; on Redis each has its own client under one
    key prefix of the test's own (deleted afterwards); on files, one directory.
    """
    shared = MemoryStorage()
    prefix = f"test-{uuid.uuid4().hex[:12]}/"
    opened: list[ContentStore] = []

    async def open_store(**options: Any) -> ContentStore:
        backend: StorageBackend
        if request.param == "memory":
            backend = shared
        elif request.param == "redis":
            from svckit.storage import RedisStorage  # noqa: PLC0415

            backend = RedisStorage.from_url(REDIS_URL, prefix=prefix)
        else:
            backend = FileStorage(tmp_path / "store")
        store = ContentStore(backend, **options)
        opened.append(await store.__aenter__())
        return store

    yield open_store
    for store in reversed(opened):
        await store.__aexit__(None, None, None)
    if request.param == "redis":
        await _delete_redis_prefix(prefix)


@pytest.fixture
async def store(new_store: NewStore) -> ContentStore:
    return await new_store()
