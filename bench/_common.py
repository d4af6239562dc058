"""Shared pieces of the benchmarks: the broker URL, a payload, and JSON output."""

from __future__ import annotations

import json
import os
import statistics
import sys
import uuid

from svckit.messaging import Event

AMQP_URL = os.environ.get("SVCKIT_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


class Reading(Event, topic="bench.reading"):
    """A ~200-byte JSON message."""

    sensor: str
    seq: int
    value: float
    unit: str
    site: str
    tags: list[str]


def reading(seq: int) -> Reading:
    return Reading(
        sensor="thermometer-0042",
        seq=seq,
        value=21.5 + seq % 7,
        unit="celsius",
        site="warehouse-north-building-7",
        tags=["calibrated", "indoor", "floor-3", "rack-12", "zone-b"],
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def report(name: str, svckit: list[float], baseline: list[float] | None, **extra: object) -> None:
    """Print one JSON line: medians of both sides and the median of per-round ratios."""
    line: dict[str, object] = {"bench": name, "svckit": round(statistics.median(svckit), 1)}
    if baseline is not None:
        ratios = [s / b for s, b in zip(svckit, baseline, strict=True)]
        line["baseline"] = round(statistics.median(baseline), 1)
        line["ratio"] = round(statistics.median(ratios), 3)
        line["rounds"] = {
            "svckit": [round(x, 1) for x in svckit],
            "baseline": [round(x, 1) for x in baseline],
            "ratios": [round(x, 3) for x in ratios],
        }
    line.update(extra)
    json.dump(line, sys.stdout)
    sys.stdout.write("\n")
