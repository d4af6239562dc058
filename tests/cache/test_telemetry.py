"""Metrics of hits, misses and errors, and warnings that do not flood the logs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from structlog.testing import capture_logs

from svckit import CacheError
from svckit.cache import Cache, MemoryBackend
from svckit.cache._telemetry import CacheTelemetry

if TYPE_CHECKING:
    from collections.abc import Callable

    from opentelemetry.sdk.metrics import MeterProvider

    ReadCounter = Callable[[str], int]


async def test_hits_misses_and_errors_are_counted(
    meter_provider: MeterProvider, read_counter: ReadCounter
) -> None:
    cache = Cache(MemoryBackend(), namespace="metrics", meter=meter_provider.get_meter("t"))

    async def load() -> str:
        return "loaded"

    assert await cache.get("k", str) is None  # miss
    await cache.set("k", "v")
    assert await cache.get("k", str) == "v"  # hit
    assert await cache.get_or_set("other", str, load) == "loaded"  # miss
    assert await cache.get_or_set("other", str, load) == "loaded"  # hit
    await cache.hincr("hash", "f")
    with pytest.raises(CacheError):
        await cache.get("hash", str)  # an error (a hash is not a value)
    assert read_counter("svckit.cache.hits") == 2
    assert read_counter("svckit.cache.misses") == 2
    assert read_counter("svckit.cache.errors") == 1
    assert read_counter("svckit.cache.fail_open") == 0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_failing_backend_is_reported_once_per_interval(meter_provider: MeterProvider) -> None:
    clock = Clock()
    telemetry = CacheTelemetry(
        "ns",
        lambda: "redis at 127.0.0.1:1/0",
        meter=meter_provider.get_meter("t"),
        warn_interval=30,
        clock=clock,
    )
    failure = CacheError("connection refused")
    with capture_logs() as logs:
        for second in range(60):  # one failure a second for a minute
            clock.now = float(second)
            telemetry.failed(failure)
        telemetry.recovered()
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert [entry["suppressed"] for entry in warnings] == [0, 29]
    assert warnings[0]["backend"] == "redis at 127.0.0.1:1/0"
    assert logs[-1]["event"] == "cache backend recovered"
    assert telemetry.failing is False
