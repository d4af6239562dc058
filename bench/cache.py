"""Typed cache get + set: svckit's Cache vs plain redis-py, on the same Redis, same run.

Both sides store and read back the same pydantic model with a TTL. The plain side does
what a user of redis-py would: ``model_dump_json`` before SET, ``model_validate_json``
after GET. Each round runs ``--ops`` set+get pairs per side, from ``--concurrency`` tasks,
in blocks of 100 that alternate between the sides. One JSON line gives the medians
(operations per second, one set or one get being an operation) and the median of the
per-round ratios svckit/baseline.

    python bench/cache.py [--ops 3000] [--rounds 7] [--concurrency 1]

The Redis URL comes from SVCKIT_BENCH_REDIS_URL (default redis://127.0.0.1:6379/0). Keys
carry a unique prefix and are deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel
from redis.asyncio import Redis

from svckit.cache import Cache

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

REDIS_URL = os.environ.get("SVCKIT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
TTL = 300
#: Pairs per block; a round alternates blocks of the two sides.
BLOCK = 100


class Profile(BaseModel):
    """A ~250-byte user profile, the kind of read an API caches."""

    id: int
    username: str
    email: str
    full_name: str
    is_active: bool
    created_at: datetime
    roles: list[str]
    bio: str


def profile(i: int) -> Profile:
    return Profile(
        id=i,
        username=f"user{i}",
        email=f"user{i}@example.org",
        full_name="Ada Lovelace-Byron",
        is_active=True,
        created_at=datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        roles=["reader", "writer"],
        bio="Writes analytical engines' programs; likes poetry and mathematics.",
    )


async def timed_block(
    start: int, size: int, concurrency: int, pair: Callable[[int], Awaitable[None]]
) -> float:
    """Run pairs ``start..start+size`` over ``concurrency`` tasks; return the seconds taken."""

    async def worker(first: int) -> None:
        for i in range(start + first, start + size, concurrency):
            await pair(i)

    began = time.perf_counter()
    await asyncio.gather(*(worker(first) for first in range(concurrency)))
    return time.perf_counter() - began


async def interleaved(
    ops: int,
    concurrency: int,
    svckit: Callable[[int], Awaitable[None]],
    plain: Callable[[int], Awaitable[None]],
) -> tuple[float, float]:
    """One round: both sides in alternating blocks, so that load from other processes on
    the machine falls on both alike. Returns operations per second of each side."""
    spent = {"svckit": 0.0, "plain": 0.0}
    for start in range(0, ops, BLOCK):
        size = min(BLOCK, ops - start)
        spent["svckit"] += await timed_block(start, size, concurrency, svckit)
        spent["plain"] += await timed_block(start, size, concurrency, plain)
    return 2 * ops / spent["svckit"], 2 * ops / spent["plain"]


async def main(ops: int, rounds: int, concurrency: int) -> None:
    prefix = f"bench-cache-{uuid.uuid4().hex[:8]}"
    values = [profile(i) for i in range(ops)]
    plain = Redis.from_url(REDIS_URL)

    async with Cache.from_url(REDIS_URL, namespace=prefix) as cache:

        async def svckit_pair(i: int) -> None:
            await cache.set(f"p:{i}", values[i], ttl=TTL)
            if await cache.get(f"p:{i}", Profile) is None:
                raise RuntimeError("svckit lost a value")

        async def plain_pair(i: int) -> None:
            await plain.set(f"{prefix}-plain:p:{i}", values[i].model_dump_json(), ex=TTL)
            raw = await plain.get(f"{prefix}-plain:p:{i}")
            if raw is None:
                raise RuntimeError("redis-py lost a value")
            Profile.model_validate_json(raw)

        try:
            # Warm up both sides: connections, scripts, adapters, CPU caches.
            await interleaved(min(ops, 500), concurrency, svckit_pair, plain_pair)
            svckit_rates: list[float] = []
            plain_rates: list[float] = []
            for _ in range(rounds):
                svckit_rate, plain_rate = await interleaved(
                    ops, concurrency, svckit_pair, plain_pair
                )
                svckit_rates.append(svckit_rate)
                plain_rates.append(plain_rate)
        finally:
            await cache.clear()
            keys = [key async for key in plain.scan_iter(match=f"{prefix}-plain:*", count=1000)]
            for start in range(0, len(keys), 1000):
                await plain.unlink(*keys[start : start + 1000])
            await plain.aclose()

    ratios = [s / b for s, b in zip(svckit_rates, plain_rates, strict=True)]
    line = {
        "bench": "cache",
        "svckit": round(statistics.median(svckit_rates), 1),
        "baseline": round(statistics.median(plain_rates), 1),
        "ratio": round(statistics.median(ratios), 3),
        "ops": ops,
        "concurrency": concurrency,
        "rounds": {
            "svckit": [round(rate, 1) for rate in svckit_rates],
            "baseline": [round(rate, 1) for rate in plain_rates],
            "ratios": [round(ratio, 3) for ratio in ratios],
        },
    }
    json.dump(line, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=3000, help="set+get pairs per round and side")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=1, help="tasks issuing pairs")
    args = parser.parse_args()
    asyncio.run(main(args.ops, args.rounds, args.concurrency))
