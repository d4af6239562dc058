"""Messages per second through the embedded broker (``memory://``) with a typed handler.

Two shapes, each timed over the same ~200-byte pydantic model:

- ``svckit``: publish N messages (every publish awaited, as a service would), then start
  the consumer and drain them; N / (publish time + drain time). ``publish`` and ``drain``
  give the two halves;
- ``concurrent``: the consumer runs while N messages are published; N / time until the
  last one was handled.

Every round uses a broker of its own. The baseline, timed in the same rounds, is the
floor of any typed in-process bus: an `asyncio.Queue` read by as many consumer tasks as
the consumer's prefetch, each message encoded to JSON on the way in and validated into
the same model on the way out, in the same two shapes. ``ratio`` is svckit's figure over
the baseline's (the median of the per-round ratios), so that it does not move with the
machine. The line printed gives the medians of the rounds.

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


async def _baseline_consumers(
    queue: asyncio.Queue[bytes], counter: Counter, tasks: int
) -> list[asyncio.Task[None]]:
    async def consume() -> None:
        while True:
            body = await queue.get()
            message = Reading.model_validate_json(body)
            if message.seq >= 0:
                counter.add()

    return [asyncio.create_task(consume()) for _ in range(tasks)]


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def baseline_publish_then_drain(messages: list[Reading], tasks: int) -> float:
    """The floor of `publish_then_drain`: a queue, JSON in, validation out."""
    counter = Counter(len(messages))
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    started = time.perf_counter()
    for message in messages:
        await queue.put(message.model_dump_json().encode())
    consumers = await _baseline_consumers(queue, counter, tasks)
    await counter.done.wait()
    elapsed = time.perf_counter() - started
    await _stop(consumers)
    return elapsed


async def baseline_concurrent(messages: list[Reading], tasks: int) -> float:
    """The floor of `concurrent`."""
    counter = Counter(len(messages))
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    consumers = await _baseline_consumers(queue, counter, tasks)
    started = time.perf_counter()
    for message in messages:
        await queue.put(message.model_dump_json().encode())
    await counter.done.wait()
    elapsed = time.perf_counter() - started
    await _stop(consumers)
    return elapsed


async def run(count: int, rounds: int, prefetch: int) -> None:
    messages = [reading(i) for i in range(count)]
    await publish_then_drain(messages[: min(count, 1000)], prefetch)  # warm-up
    await baseline_publish_then_drain(messages[: min(count, 1000)], prefetch)
    totals, publishes, drains, mixed, floors, mixed_floors = [], [], [], [], [], []
    for _ in range(rounds):
        publish_s, drain_s = await publish_then_drain(messages, prefetch)
        totals.append(count / (publish_s + drain_s))
        publishes.append(count / publish_s)
        drains.append(count / drain_s)
        floors.append(count / await baseline_publish_then_drain(messages, prefetch))
        mixed.append(count / await concurrent(messages, prefetch))
        mixed_floors.append(count / await baseline_concurrent(messages, prefetch))
    mixed_ratios = [s / b for s, b in zip(mixed, mixed_floors, strict=True)]
    report(
        "memory_bus",
        totals,
        floors,
        publish=round(statistics.median(publishes), 1),
        drain=round(statistics.median(drains), 1),
        concurrent=round(statistics.median(mixed), 1),
        concurrent_baseline=round(statistics.median(mixed_floors), 1),
        concurrent_ratio=round(statistics.median(mixed_ratios), 3),
        messages=count,
        prefetch=prefetch,
        goal_ratio=0.75,
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
