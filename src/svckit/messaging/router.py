"""Routers: groups of consumers that a service includes, like FastAPI's APIRouter.

::

    router = ConsumerRouter()

    @router.consumer("user.*", idempotent=True)
    async def notify(event: UserChanged, *, cache: Cache) -> None:
        ...

    class Notifications(WorkerService):
        routers = (router,)

Keyword-only parameters of a handler are filled from the service by name (``service``,
``bus``, ``cache``, ``settings`` or any attribute of the service), so functions in a
router reach what the service holds without importing it.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from svckit.messaging.consumer import ConsumerSpec, consumer, spec_of

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["ConsumerRouter", "inject"]


class ConsumerRouter:
    """A group of consumer functions to include in services.

    Attributes:
        prefix: Put before the name of each of its consumers, those of included routers
            too (which keep their own prefix after it).
        handlers: The consumer functions, in the order they were added or included.
    """

    def __init__(self, *, prefix: str = "") -> None:
        """Create an empty router; ``prefix`` is put before each consumer's name."""
        self.prefix = prefix
        self.handlers: list[Callable[..., Awaitable[None]]] = []
        # Each handler with the prefixes it carries from the routers it came through.
        self._entries: list[tuple[Callable[..., Awaitable[None]], str]] = []

    def consumer(self, *patterns: str, **options: Any) -> Callable[[Any], Any]:
        """Add a consumer; takes the same arguments as `svckit.messaging.consumer`."""
        mark = consumer(*patterns, **options)

        def add(func: Any) -> Any:
            marked = mark(func)
            self.handlers.append(marked)
            self._entries.append((marked, ""))
            return marked

        return add

    def include(self, other: ConsumerRouter) -> None:
        """Add every consumer of ``other`` to this router, each keeping ``other``'s prefix.

        A consumer ``send`` of ``ConsumerRouter(prefix="mail.")`` included in
        ``ConsumerRouter(prefix="notify.")`` is named ``notify.mail.send``: its queue is
        the same whether the service includes ``other`` itself or through this router,
        and including a router never renames the queues of its consumers.
        """
        for handler, inner in other._entries:
            self.handlers.append(handler)
            self._entries.append((handler, other.prefix + inner))

    def specs(self) -> list[tuple[Callable[..., Awaitable[None]], ConsumerSpec]]:
        """Each handler with its spec, named with the prefixes of the routers it is in."""
        result = []
        for handler, inner in self._entries:
            spec = spec_of(handler)
            if spec is None:  # pragma: no cover - consumer() always marks
                continue
            prefix = self.prefix + inner
            if prefix:
                name = spec.name or getattr(handler, "__name__", "consumer")
                spec = replace(spec, name=f"{prefix}{name}")
            result.append((handler, spec))
        return result


def inject(
    handler: Callable[..., Awaitable[None]], provider: object
) -> Callable[..., Awaitable[None]]:
    """Fill ``handler``'s keyword-only parameters from ``provider``'s attributes.

    Raises:
        TypeError: a keyword-only parameter names nothing ``provider`` has.
    """
    wanted = [
        p
        for p in inspect.signature(handler).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    if not wanted:
        return handler
    values = {}
    for param in wanted:
        if param.name == "service":
            values[param.name] = provider
        elif hasattr(provider, param.name):
            values[param.name] = getattr(provider, param.name)
        elif param.default is inspect.Parameter.empty:
            raise TypeError(
                f"consumer {getattr(handler, '__qualname__', handler)} asks for "
                f"{param.name!r}, which {type(provider).__name__} does not have",
            )
    return functools.partial(handler, **values)
