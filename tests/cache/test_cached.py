"""The `cached` decorator, on both backends."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from pydantic import BaseModel

from svckit.cache import cached

if TYPE_CHECKING:
    from svckit.cache import Cache


class Thumbnail(BaseModel):
    media_id: str
    width: int


async def test_results_are_cached_per_argument(cache: Cache) -> None:
    calls: list[tuple[str, int]] = []

    @cached(cache, ttl=60)
    async def thumbnail(media_id: str, width: int = 128) -> Thumbnail:
        calls.append((media_id, width))
        return Thumbnail(media_id=media_id, width=width)

    assert await thumbnail("a") == Thumbnail(media_id="a", width=128)
    assert await thumbnail("a", width=128) == Thumbnail(media_id="a", width=128)
    assert await thumbnail(media_id="a") == Thumbnail(media_id="a", width=128)
    assert await thumbnail("a", 64) == Thumbnail(media_id="a", width=64)
    assert calls == [("a", 128), ("a", 64)]
    assert thumbnail.__name__ == "thumbnail"


async def test_a_key_template_names_the_entry_and_invalidate_drops_it(cache: Cache) -> None:
    names = {7: "ada"}

    @cached(cache, key="user:{user_id}")
    async def user_name(user_id: int) -> str:
        return names[user_id]

    assert await user_name(7) == "ada"
    assert user_name.key(7) == "user:7"
    assert await cache.get("user:7", str) == "ada"
    names[7] = "grace"
    assert await user_name(7) == "ada"  # still cached
    assert await user_name.invalidate(7) is True
    assert await user_name(7) == "grace"


async def test_a_key_function_and_a_cache_made_later(cache: Cache) -> None:
    holder: dict[str, Cache] = {}

    @cached(lambda: holder["cache"], key=lambda a, b: f"sum:{a}+{b}")
    async def add(a: int, b: int) -> int:
        return a + b

    holder["cache"] = cache
    assert await add(2, 3) == 5
    assert await cache.get("sum:2+3", int) == 5


async def test_arguments_that_are_not_json_need_a_key(cache: Cache) -> None:
    @cached(cache)
    async def echo(value: object) -> str:
        return str(value)

    with pytest.raises(TypeError, match="pass key="):
        await echo(object())


async def test_the_return_type_is_required(cache: Cache) -> None:
    async def untyped(x: int):  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(TypeError, match="annotate it"):
        cached(cache)(untyped)


async def test_methods_are_refused(cache: Cache) -> None:
    with pytest.raises(TypeError, match="not methods"):

        class Users:
            @cached(cache)
            async def get(self, user_id: int) -> str:
                return str(user_id)
