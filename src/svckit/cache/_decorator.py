"""`cached`: read-through caching of an async function, keyed by its arguments."""

from __future__ import annotations

import functools
import inspect
import typing
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

import pydantic_core

from svckit.cache._cache import Cache

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import timedelta

__all__ = ["CachedFunction", "cached"]

P = ParamSpec("P")
R = TypeVar("R")


class CachedFunction(Generic[P, R]):
    """An async function whose results are read through a `Cache` (made by `cached`).

    Call it like the function. `key` tells the cache key of a call, and `invalidate`
    deletes it, with the same arguments as the call.
    """

    # Copied from the function by functools.update_wrapper; declared for type checkers.
    __name__: str
    __qualname__: str
    __wrapped__: Callable[P, Awaitable[R]]

    def __init__(
        self,
        func: Callable[P, Awaitable[R]],
        cache: Cache | Callable[[], Cache],
        *,
        ttl: float | timedelta | None,
        key: str | Callable[P, str] | None,
    ) -> None:
        """Wrap ``func``; see `cached` for the arguments."""
        if "return" not in inspect.get_annotations(func):
            raise TypeError(
                f"@cached needs the return type of {func.__qualname__} to read cached "
                "values back: annotate it",
            )
        parameters = list(inspect.signature(func).parameters)
        if parameters[:1] in (["self"], ["cls"]):
            # Not a descriptor: as a method it would be called without its instance.
            raise TypeError(
                f"@cached decorates functions, not methods like {func.__qualname__}; "
                "call cache.get_or_set inside the method instead",
            )
        functools.update_wrapper(self, func)
        self._func = func
        self._cache = cache
        self._ttl = ttl
        self._key = key
        self._signature = inspect.signature(func)
        self._prefix = f"{func.__module__}.{func.__qualname__}"
        self._return_type: Any = None

    @property
    def cache(self) -> Cache:
        """The cache the results go to."""
        return self._cache if isinstance(self._cache, Cache) else self._cache()

    def key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """The cache key of a call with these arguments.

        Raises:
            TypeError: The arguments do not fit the function, or (with no ``key`` given
                to `cached`) cannot be serialised to JSON to build the key.
        """
        if callable(self._key):
            return self._key(*args, **kwargs)
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        if isinstance(self._key, str):
            return self._key.format(**bound.arguments)
        try:
            encoded = pydantic_core.to_json(bound.arguments).decode()
        except pydantic_core.PydanticSerializationError as exc:
            raise TypeError(
                f"cannot build a cache key for {self._prefix} from its arguments; "
                "pass key= to @cached",
            ) from exc
        return f"{self._prefix}:{encoded}"

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Return the cached result for these arguments, or call the function and cache it."""
        if self._return_type is None:
            # Resolved on first call, when forward references can be resolved.
            self._return_type = typing.get_type_hints(self._func)["return"]
        return await self.cache.get_or_set(
            self.key(*args, **kwargs),
            self._return_type,
            lambda: self._func(*args, **kwargs),
            ttl=self._ttl,
        )

    async def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Delete the cached result of a call with these arguments (see `Cache.delete`).

        Returns:
            Whether a result was cached.
        """
        return await self.cache.delete(self.key(*args, **kwargs))


def cached(
    cache: Cache | Callable[[], Cache],
    *,
    ttl: float | timedelta | None = None,
    key: str | Callable[..., str] | None = None,
) -> Callable[[Callable[P, Awaitable[R]]], CachedFunction[P, R]]:
    """Cache the results of an async function, read through `Cache.get_or_set`.

    The function's return annotation is the type values are read back as. A ``None``
    result is not cached. Decorate functions, not methods: in a method, call
    `Cache.get_or_set`.

    Example:
        ```python
        @cached(cache, ttl=300, key="user:{user_id}")
        async def load_user(user_id: int) -> User:
            ...

        user = await load_user(42)
        await load_user.invalidate(42)  # after the user changed
        ```

    Args:
        cache: The cache, or a function returning it (for a cache created later, by a
            service).
        ttl: Seconds (or a timedelta) a result lives; ``None`` keeps it.
        key: A format string over the argument names (``"user:{user_id}"``), or a
            function of the same arguments returning the key. By default the key is the
            function's qualified name and its arguments as JSON.
    """

    def decorate(func: Callable[P, Awaitable[R]]) -> CachedFunction[P, R]:
        return CachedFunction(func, cache, ttl=ttl, key=key)

    return decorate
