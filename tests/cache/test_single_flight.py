"""Single-flight: one run per key at a time, shared results, errors and cancellations."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from svckit.cache._flight import SingleFlight

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


class Work:
    def __init__(self, result: str = "value") -> None:
        self.result = result
        self.runs = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self) -> str:
        self.runs += 1
        self.started.set()
        await self.release.wait()
        return f"{self.result}-{self.runs}"


class Callers:
    """Starts callers of a flight and knows when they all wait on it.

    A caller parks on the flight in the same step as it enters `SingleFlight.run` (no await
    comes before it), so once ``entered`` is set, every caller is leader or follower.
    """

    def __init__(self, flight: SingleFlight[str]) -> None:
        self.flight = flight
        self.expected = 0
        self.count = 0
        self.entered = asyncio.Event()

    def start(self, work: Callable[[], Awaitable[str]], n: int = 1) -> list[asyncio.Task[str]]:
        self.expected += n
        self.entered.clear()
        return [asyncio.create_task(self._call(work)) for _ in range(n)]

    async def _call(self, work: Callable[[], Awaitable[str]]) -> str:
        self.count += 1
        if self.count == self.expected:
            self.entered.set()
        return await self.flight.run("k", work)


async def test_concurrent_calls_share_one_run() -> None:
    flight: SingleFlight[str] = SingleFlight()
    callers = Callers(flight)
    work = Work()
    calls = callers.start(work, 10)
    await callers.entered.wait()
    work.release.set()
    assert await asyncio.gather(*calls) == ["value-1"] * 10
    assert work.runs == 1
    assert len(flight) == 0


async def test_different_keys_run_apart() -> None:
    flight: SingleFlight[str] = SingleFlight()
    work = Work()
    work.release.set()
    results = await asyncio.gather(flight.run("a", work), flight.run("b", work))
    assert sorted(results) == ["value-1", "value-2"]


async def test_an_error_reaches_every_caller() -> None:
    flight: SingleFlight[str] = SingleFlight()
    callers = Callers(flight)
    release = asyncio.Event()
    runs = 0

    async def broken() -> str:
        nonlocal runs
        runs += 1
        await release.wait()
        raise LookupError("gone")

    calls = callers.start(broken, 5)
    await callers.entered.wait()
    release.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert [type(result) for result in results] == [LookupError] * 5
    assert runs == 1
    assert len(flight) == 0


async def test_a_cancelled_follower_leaves_the_others_alone() -> None:
    flight: SingleFlight[str] = SingleFlight()
    callers = Callers(flight)
    work = Work()
    leader, quitter, stayer = callers.start(work, 3)
    await callers.entered.wait()
    quitter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await quitter
    work.release.set()
    assert await leader == await stayer == "value-1"


async def test_a_follower_takes_over_when_the_leader_is_cancelled() -> None:
    flight: SingleFlight[str] = SingleFlight()
    callers = Callers(flight)
    work = Work()
    leader, follower = callers.start(work, 2)
    await work.started.wait()
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    work.release.set()
    assert await follower == "value-2"
    assert len(flight) == 0
