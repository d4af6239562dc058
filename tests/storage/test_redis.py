"""The Redis backend: outages, the password, the install hint and the client it needs."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest
from structlog.testing import capture_logs

from svckit import ConfigurationError, StorageError
from svckit.storage import ContentStore
from tests._processes import run_python
from tests.cache.test_outage import RedisServer, free_port
from tests.storage.conftest import eventually

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail("redis-server is not installed")
    server = RedisServer(executable)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.redis
@pytest.mark.timeout(60)
async def test_redis_down_is_a_storage_error_and_not_ready_until_it_is_back(
    own_redis: RedisServer,
) -> None:
    async with ContentStore.from_url(own_redis.url) as store:
        await store.put("k", b"before")
        own_redis.stop()
        with pytest.raises(StorageError, match=r"content store on redis at 127\.0\.0\.1") as caught:
            await store.get("k")
        assert caught.value.__cause__ is not None
        with pytest.raises(StorageError):
            await store.put("k", b"during")
        health = await store.health()
        assert health.status == "down"

        own_redis.start()

        async def up() -> bool:
            return (await store.health()).status == "up"

        await eventually(up)
        await store.put("k", b"after")  # the restarted server kept nothing (no persistence)
        assert await store.get("k") == b"after"


async def test_a_store_that_is_down_at_start_opens_and_says_so() -> None:
    store = ContentStore.from_url(f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0")
    with capture_logs() as logs:
        async with store:
            health = await store.health()
            with pytest.raises(StorageError) as caught:
                await store.put("k", b"x")
    assert health.status == "down"
    assert [entry["event"] for entry in logs] == ["content store unreachable"]
    for text in (repr(logs), health.detail, str(caught.value), str(caught.value.__cause__)):
        assert "s3cret-pw" not in text


def test_importing_the_package_does_not_import_redis() -> None:
    result = run_python("""
        import sys
        import svckit.storage
        store = svckit.storage.ContentStore.from_url("memory://")
        print("redis" in sys.modules)
    """)
    assert result.stdout.strip() == "False", result.stderr


def test_a_redis_url_without_redis_py_says_how_to_install_it() -> None:
    result = run_python("""
        import sys
        sys.modules["redis"] = None  # as if redis-py were not installed
        from svckit import MissingExtraError
        from svckit.storage import ContentStore
        try:
            ContentStore.from_url("redis://localhost:6379/0")
        except MissingExtraError as exc:
            print(exc)
    """)
    assert 'pip install "svckit[redis]"' in result.stdout, result.stderr


def test_a_client_that_decodes_responses_is_refused() -> None:
    from redis.asyncio import Redis  # noqa: PLC0415 - the extra, only for this test

    from svckit.storage import RedisStorage  # noqa: PLC0415

    with pytest.raises(ConfigurationError, match="decode_responses=False"):
        RedisStorage(Redis(decode_responses=True))


def test_an_unknown_scheme_is_refused_without_echoing_the_url() -> None:
    with pytest.raises(ConfigurationError, match="unsupported content store URL scheme 's3'") as e:
        ContentStore.from_url("s3://key:hunter2@bucket")
    assert "hunter2" not in str(e.value)
