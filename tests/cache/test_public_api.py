"""The public surface of svckit.cache, its optional dependency, and what builds on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import svckit.cache
from svckit import ConfigurationError, MissingExtraError, Resource
from svckit.cache import Cache, CacheBackend, MemoryBackend
from svckit.messaging import KeyValueInbox
from tests._processes import run_python

if TYPE_CHECKING:
    from svckit.messaging.idempotency import IdempotencyStore


def test_importing_the_package_does_not_import_redis() -> None:
    result = run_python("""
        import sys
        import svckit.cache
        cache = svckit.cache.Cache.from_url("memory://", namespace="x")
        print("redis" in sys.modules)
    """)
    assert result.stdout.strip() == "False", result.stderr


def test_a_redis_url_without_redis_py_says_how_to_install_it() -> None:
    result = run_python("""
        import sys
        sys.modules["redis"] = None  # as if redis-py were not installed
        from svckit import MissingExtraError
        from svckit.cache import Cache
        try:
            Cache.from_url("redis://localhost:6379/0", namespace="x")
        except MissingExtraError as exc:
            print(exc)
    """)
    assert 'pip install "svckit[redis]"' in result.stdout, result.stderr


def test_missing_extra_error_is_an_import_error() -> None:
    assert issubclass(MissingExtraError, ImportError)


def test_an_unknown_scheme_is_refused_without_echoing_the_url() -> None:
    with pytest.raises(ConfigurationError, match="unsupported cache URL scheme 'memcached'") as e:
        Cache.from_url("memcached://user:hunter2@host", namespace="x")
    assert "hunter2" not in str(e.value)


def test_a_client_that_decodes_responses_is_refused() -> None:
    from redis.asyncio import Redis  # noqa: PLC0415 - the extra, only for this test

    with pytest.raises(ConfigurationError, match="decode_responses=False"):
        svckit.cache.RedisBackend(Redis(decode_responses=True))


async def test_the_cache_is_a_resource(cache: Cache) -> None:
    resource: Resource = cache  # and mypy agrees
    assert isinstance(resource, Resource)
    assert resource.name == "cache"


def test_the_backends_implement_the_protocol() -> None:
    assert isinstance(MemoryBackend(), CacheBackend)
    assert isinstance(svckit.cache.RedisBackend.from_url("redis://localhost"), CacheBackend)


async def test_the_messaging_inbox_runs_on_the_cache(cache: Cache) -> None:
    inbox: IdempotencyStore = KeyValueInbox(cache, prefix="inbox")
    assert await inbox.begin("msg-1", lease=30, holder="a") == "new"
    assert await inbox.begin("msg-1", lease=30, holder="b") == "busy"
    assert await inbox.renew("msg-1", lease=30, holder="a")  # the handler runs on
    await inbox.release("msg-1", holder="a")  # the handler failed
    assert await inbox.begin("msg-1", lease=30, holder="c") == "new"
    await inbox.complete("msg-1", ttl=60)
    assert await inbox.begin("msg-1", lease=30, holder="d") == "done"
