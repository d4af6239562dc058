"""Helpers shared by the HTTP client's tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from svckit import RetryPolicy

if TYPE_CHECKING:
    from svckit.http import HttpClient


def quick_policy(attempts: int = 3) -> RetryPolicy:
    """A policy whose waits are short enough for tests."""
    return RetryPolicy(attempts=attempts, initial_delay=0.001, max_delay=0.01, jitter=0.0)


class FakeTime:
    """Stands in for a client's sleep and clock: records each wait and moves time on by it."""

    def __init__(self, client: HttpClient) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        client._sleep = self.sleep
        client._clock = self.clock

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now
