"""Single-flight: concurrent calls for one key share the work of the first."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["SingleFlight"]

T = TypeVar("T")

# Handed to followers when the leader was cancelled: its work is lost, so one of the
# followers takes the lead instead of failing with a cancellation that is not its own.
_RETRY: Any = object()


class SingleFlight(Generic[T]):
    """Runs at most one call per key at a time in this process; the others wait for it."""

    def __init__(self) -> None:
        """Start with no call in flight."""
        self._flights: dict[str, asyncio.Future[T]] = {}

    def __len__(self) -> int:
        """The number of keys with a call in flight."""
        return len(self._flights)

    async def run(self, key: str, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` for ``key``, or wait for the run already in flight and share it.

        The first caller (the leader) runs ``work`` in its own task, so the work sees its
        context (log fields, trace). A follower that is cancelled stops waiting while the
        others carry on; if the leader is cancelled, a follower takes the lead and runs
        ``work`` again. An exception of ``work`` reaches every caller.
        """
        while (flight := self._flights.get(key)) is not None:
            # shield: a follower's cancellation must not cancel the shared future.
            result = await asyncio.shield(flight)
            if result is not _RETRY:
                return result
        flight = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        try:
            result = await work()
        except asyncio.CancelledError:
            flight.set_result(_RETRY)
            raise
        except BaseException as exc:
            flight.set_exception(exc)
            flight.exception()  # marks it retrieved: with no followers, asyncio would log it
            raise
        else:
            flight.set_result(result)
            return result
        finally:
            del self._flights[key]
