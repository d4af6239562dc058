"""Messages per second through the embedded broker (``memory://``) with a typed handler.

Two shapes, each timed over the same ~200-byte pydantic model:

- ``svckit``: publish N messages (every publish awaited, as a service would), then start
  the consumer and drain them; N / (publish time + drain time). ``publish`` and ``drain``
  give the two halves;
- ``concurrent``: the consumer runs while N messages are published; N / time until the
  last one was handled.

Every round uses a broker of its own. There is no baseline: nothing else offers the same
semantics in-process. The line printed gives the medians of the rounds.

    python bench/memory_bus.py [--messages 20000] [--rounds 5] [--prefetch 64]
    python bench/memory_bus.py --profile [--messages 20000]   # cProfile, top costs to stderr
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from _common import Reading, reading, report, unique

from svckit.core.logging import configure_logging
from svckit.core.settings import ServiceSettings
from svckit.messaging import Bus, consumer
from svckit.messaging.memory import MemoryTransport

if TYPE_CHECKING:
    from svckit.messaging._consume import Consumer


@dataclass
class Counter:
    """Counts handled messages and wakes the bench when the last one is in."""

    expected: int
    seen: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self) -> None:
        self.seen += 1
        if self.seen == self.expected:
            self.done.set()


def make_bus(counter: Counter, prefetch: int) -> tuple[Bus, Consumer]:
    @consumer("bench.#", name="drain", prefetch=prefetch)
    async def drain(message: Reading) -> None:
        # Touch the model, as a real handler would.
        if message.seq >= 0:
            counter.add()

    bus = Bus(f"memory://{unique('bench-memory')}", service=unique("bench"), exchange="bench")
    return bus, bus.add_consumer(drain)


async def publish_then_drain(messages: list[Reading], prefetch: int) -> tuple[float, float]:
    """Return the seconds spent publishing and then draining ``messages``."""
    counter = Counter(len(messages))
    bus, drainer = make_bus(counter, prefetch)
    async with bus:
        if not isinstance(bus.transport, MemoryTransport):
            raise TypeError("the bench needs the memory transport")
        await bus.transport.declare_queue(drainer.queue)
        started = time.perf_counter()
        for message in messages:
            await bus.publish(message)
        published = time.perf_counter()
        await drainer.start()
        await counter.done.wait()
        drained = time.perf_counter()
        await bus.transport.broker.wait_idle()
        await drainer.stop()
        await drainer.drain(5)
    return published - started, drained - published


async def concurrent(messages: list[Reading], prefetch: int) -> float:
    """Return the seconds from the first publish until the last message was handled."""
    counter = Counter(len(messages))
    bus, drainer = make_bus(counter, prefetch)
    async with bus:
        await drainer.start()
        started = time.perf_counter()
        for message in messages:
            await bus.publish(message)
        await counter.done.wait()
        elapsed = time.perf_counter() - started
        await drainer.stop()
        await drainer.drain(5)
    return elapsed


async def run(count: int, rounds: int, prefetch: int) -> None:
    messages = [reading(i) for i in range(count)]
    await publish_then_drain(messages[: min(count, 1000)], prefetch)  # warm-up
    totals, publishes, drains, mixed = [], [], [], []
    for _ in range(rounds):
        publish_s, drain_s = await publish_then_drain(messages, prefetch)
        totals.append(count / (publish_s + drain_s))
        publishes.append(count / publish_s)
        drains.append(count / drain_s)
        mixed.append(count / await concurrent(messages, prefetch))
    report(
        "memory_bus",
        totals,
        None,
        publish=round(statistics.median(publishes), 1),
        drain=round(statistics.median(drains), 1),
        concurrent=round(statistics.median(mixed), 1),
        rounds={
            "svckit": [round(x, 1) for x in totals],
            "concurrent": [round(x, 1) for x in mixed],
        },
        messages=count,
        prefetch=prefetch,
        goal=50_000,
    )


async def profile(count: int, prefetch: int) -> None:
    messages = [reading(i) for i in range(count)]
    await publish_then_drain(messages[:1000], prefetch)
    profiler = cProfile.Profile()
    profiler.enable()
    await publish_then_drain(messages, prefetch)
    await concurrent(messages, prefetch)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--prefetch", type=int, default=64)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top costs")
    args = parser.parse_args()
    configure_logging(ServiceSettings(log_level="WARNING"))
    if args.profile:
        asyncio.run(profile(args.messages, args.prefetch))
    else:
        asyncio.run(run(args.messages, args.rounds, args.prefetch))


if __name__ == "__main__":
    main()
