"""One contract for every content store backend: memory, Redis and a directory.

Each test runs on all three (see ``new_store`` in conftest.py); what one backend does,
the others do too, failures included.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from svckit import SvckitError
from svckit.storage import ContentStore, ContentTooLargeError, InvalidKeyError, StorageError
from tests.storage.conftest import eventually

if TYPE_CHECKING:
    from tests.storage.conftest import NewStore

EVERY_BYTE = bytes(range(256)) * 4
NOT_UTF8 = b"\xff\xfe\x00\xc3(\x80 not text"


async def test_put_then_get_returns_the_bytes_exactly(store: ContentStore) -> None:
    await store.put("a/every-byte", EVERY_BYTE)
    await store.put("a/not-utf8", NOT_UTF8)
    assert await store.get("a/every-byte") == EVERY_BYTE
    assert await store.get("a/not-utf8") == NOT_UTF8


async def test_empty_content_is_content_not_absence(store: ContentStore) -> None:
    await store.put("empty", b"")
    assert await store.get("empty") == b""
    assert await store.exists("empty")


async def test_a_missing_key_is_none_and_not_there(store: ContentStore) -> None:
    assert await store.get("never/put") is None
    assert not await store.exists("never/put")
    assert await store.delete("never/put") is False


async def test_a_put_replaces_the_content(store: ContentStore) -> None:
    await store.put("k", b"first")
    await store.put("k", b"second, longer")
    assert await store.get("k") == b"second, longer"


async def test_delete_says_whether_there_was_content(store: ContentStore) -> None:
    await store.put("k", b"x")
    assert await store.delete("k") is True
    assert await store.get("k") is None
    assert not await store.exists("k")
    assert await store.delete("k") is False


async def test_a_key_and_the_keys_under_it_live_side_by_side(store: ContentStore) -> None:
    await store.put("media/7", b"the parent")
    await store.put("media/7/thumbnail", b"the child")
    assert await store.get("media/7") == b"the parent"
    assert await store.get("media/7/thumbnail") == b"the child"
    assert await store.delete("media/7")
    assert await store.get("media/7/thumbnail") == b"the child"


async def test_bytearray_and_memoryview_are_stored_as_bytes(store: ContentStore) -> None:
    await store.put("ba", bytearray(b"\x00\x01"))
    await store.put("mv", memoryview(EVERY_BYTE)[10:20])
    assert await store.get("ba") == b"\x00\x01"
    got = await store.get("mv")
    assert got == EVERY_BYTE[10:20]
    assert type(got) is bytes


async def test_text_is_refused_not_encoded(store: ContentStore) -> None:
    with pytest.raises(TypeError, match="content is bytes, not str"):
        await store.put("text", "héllo")  # type: ignore[arg-type]
    assert not await store.exists("text")


async def test_another_process_sees_the_content(new_store: NewStore) -> None:
    producer, consumer = await new_store(), await new_store()
    await producer.put("uploads/1/original", EVERY_BYTE)
    assert await consumer.get("uploads/1/original") == EVERY_BYTE
    await consumer.put("uploads/1/thumbnail", b"small")
    assert await producer.get("uploads/1/thumbnail") == b"small"
    assert await consumer.delete("uploads/1/original")
    assert not await producer.exists("uploads/1/original")


async def test_concurrent_puts_and_gets_see_one_whole_content_or_another(
    new_store: NewStore,
) -> None:
    writer, reader = await new_store(), await new_store()
    small, large = b"s" * 10, bytes(range(256)) * 1024
    await writer.put("race", small)

    async def write(i: int) -> None:
        await writer.put("race", large if i % 2 else small)

    async def read() -> bytes | None:
        return await reader.get("race")

    results = await asyncio.gather(*(write(i) for i in range(20)), *(read() for _ in range(20)))
    seen = {value for value in results if value is not None}
    assert seen <= {small, large}, "a reader saw a part of a write"


# ---------------------------------------------------------------------- size limit


async def test_content_up_to_the_limit_is_stored(new_store: NewStore) -> None:
    store = await new_store(max_size=1000)
    await store.put("k", b"x" * 1000)
    assert await store.get("k") == b"x" * 1000


async def test_content_over_the_limit_is_refused_before_anything_is_written(
    new_store: NewStore,
) -> None:
    store = await new_store(max_size=1000)
    await store.put("kept", b"old")
    with pytest.raises(ContentTooLargeError, match="1001 bytes is over the store's limit of 1000"):
        await store.put("kept", b"x" * 1001)
    with pytest.raises(ContentTooLargeError) as caught:
        await store.put("new", memoryview(b"y" * 1001))
    assert (caught.value.size, caught.value.max_size) == (1001, 1000)
    assert isinstance(caught.value, StorageError)
    assert await store.get("kept") == b"old"
    assert not await store.exists("new")


# ---------------------------------------------------------------------- time to live


async def test_content_expires_after_its_ttl(store: ContentStore) -> None:
    await store.put("short", b"x", ttl=0.05)
    await store.put("lasting", b"y", ttl=timedelta(hours=1))

    async def gone() -> bool:
        return await store.get("short") is None

    await eventually(gone)
    assert not await store.exists("short")
    assert await store.delete("short") is False
    assert await store.get("lasting") == b"y"


async def test_a_put_without_ttl_takes_the_stores_default(new_store: NewStore) -> None:
    store = await new_store(ttl=0.05)
    await store.put("defaulted", b"x")
    await store.put("own", b"y", ttl=3600)

    async def gone() -> bool:
        return not await store.exists("defaulted")

    await eventually(gone)
    assert await store.get("own") == b"y"


async def test_a_put_replaces_the_ttl_too(store: ContentStore) -> None:
    await store.put("clock", b"x", ttl=0.05)
    await store.put("renewed", b"old", ttl=0.05)
    await store.put("renewed", b"new")  # no TTL now: it stays

    async def clock_gone() -> bool:
        return await store.get("clock") is None

    await eventually(clock_gone)
    assert await store.get("renewed") == b"new"


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf"), timedelta(0)])
async def test_a_ttl_must_be_positive_and_finite(store: ContentStore, ttl: float) -> None:
    with pytest.raises(ValueError, match="TTL must be a positive"):
        await store.put("k", b"x", ttl=ttl)
    assert not await store.exists("k")


# ---------------------------------------------------------------------- hostile keys

HOSTILE_KEYS = [
    "",
    "../x",
    "a/../../x",
    "a/..",
    "..",
    ".",
    "./x",
    "a/./b",
    ".hidden",
    "/etc/passwd",
    "a/",
    "a//b",
    "a\\..\\..\\x",
    "C:\\Windows",
    "a\x00b",
    "a\nb",
    "a b",
    "a:b",
    "a~",
    "x" * 513,
    "a/" + "b" * 201,
    "\u2024\u2024/x",  # ONE DOT LEADER, which looks like "."
    "\uff0e\uff0e/x",  # FULLWIDTH FULL STOP
    "a\u2215..\u2215x",  # DIVISION SLASH
    "caf\u00e9",
    "%2e%2e/x",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=lambda key: repr(key)[:40])
async def test_a_hostile_key_is_refused_by_every_operation(store: ContentStore, key: str) -> None:
    with pytest.raises(InvalidKeyError):
        await store.put(key, b"x")
    with pytest.raises(InvalidKeyError):
        await store.get(key)
    with pytest.raises(InvalidKeyError):
        await store.exists(key)
    with pytest.raises(InvalidKeyError):
        await store.delete(key)


async def test_an_invalid_key_is_a_value_error_and_a_svckit_error(store: ContentStore) -> None:
    with pytest.raises(ValueError, match="invalid content key"):
        await store.get("../x")
    assert issubclass(InvalidKeyError, SvckitError)
    assert issubclass(InvalidKeyError, StorageError)


async def test_a_key_that_is_not_a_string_is_refused(store: ContentStore) -> None:
    with pytest.raises(InvalidKeyError, match="not bytes"):
        await store.get(b"k")  # type: ignore[arg-type]


async def test_the_longest_valid_key_works(store: ContentStore) -> None:
    key = "/".join(["k" * 200, "k" * 200, "k" * 110])
    assert len(key) == 512
    await store.put(key, b"x")
    assert await store.get(key) == b"x"


async def test_a_megabyte_key_is_refused_without_echoing_it(store: ContentStore) -> None:
    with pytest.raises(InvalidKeyError) as caught:
        await store.get("a" * 1_000_000)
    assert len(str(caught.value)) < 200
    with pytest.raises(InvalidKeyError) as caught:
        await store.get("\x00" * 500)
    assert len(str(caught.value)) < 400
    assert "\x00" not in str(caught.value)


# ---------------------------------------------------------------------- health


async def test_a_working_store_is_up(store: ContentStore) -> None:
    health = await store.health()
    assert health.status == "up"
    assert health.detail == store.backend.describe()
