"""Events through the transactional outbox vs direct publishes, on PostgreSQL and RabbitMQ.

The outbox side writes each event in a transaction of its own (``--per-transaction``
events per transaction), ``--writers`` transactions at once, while the relay of the same
process publishes the committed rows with confirms and deletes them; it is timed from
the first write to the last confirm. The direct side publishes the same events with
`Bus.publish`, ``--writers`` at once, to the same exchange and quorum queue. Rounds
alternate. The line gives the medians (events per second), the median of the per-round
ratios (outbox / direct) and the relay lag (from the write call to the broker's
confirm) median and 99th percentile over every outbox round, in milliseconds; then the
lag again with the writes paced to half the outbox's rate (``half_load``), where the
relay is not behind a backlog that the saturating rounds build.

    python bench/outbox.py [--events 5000] [--rounds 3] [--writers 32] [--per-transaction 1]
                           [--batch 200] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from typing import Any

import aio_pika
import asyncpg
from _common import AMQP_URL, reading, report, unique

from svckit.core.logging import configure_logging
from svckit.core.settings import ServiceSettings
from svckit.db import Database, Outbox
from svckit.messaging import Bus

PG_ADMIN = os.environ.get("SVCKIT_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
WARM_UP = 200


async def topology(channel: aio_pika.abc.AbstractChannel, name: str) -> None:
    await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    await queue.bind(name, "bench.#")


async def cleanup(channel: aio_pika.abc.AbstractChannel, name: str) -> None:
    await channel.queue_delete(name)
    await channel.exchange_delete(name)


async def in_parallel(count: int, writers: int, step: Any) -> None:
    """Run ``step(i)`` for i in range(count), ``writers`` at a time."""
    numbers = iter(range(count))

    async def worker() -> None:
        for i in numbers:
            await step(i)

    await asyncio.gather(*(worker() for _ in range(writers)))


async def direct_round(bus: Bus, events: int, writers: int) -> float:
    async def step(i: int) -> None:
        await bus.publish(reading(i))

    await in_parallel(WARM_UP, writers, step)
    started = time.perf_counter()
    await in_parallel(events, writers, step)
    return events / (time.perf_counter() - started)


class Timed:
    """Wraps the transport: records when each message's confirm came back."""

    def __init__(self, transport: Any) -> None:
        self.inner = transport
        self.confirmed: dict[str, float] = {}
        self.done = asyncio.Event()
        self.expected = 0

    async def publish(self, exchange: str, message: Any, *, mandatory: bool) -> None:
        await self.inner.publish(exchange, message, mandatory=mandatory)
        self.confirmed[message.message_id] = time.perf_counter()
        if len(self.confirmed) >= self.expected:
            self.done.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def outbox_round(
    outbox: Outbox,
    timed: Timed,
    events: int,
    writers: int,
    *,
    per_tx: int,
    keys: int,
    lags: list[float],
    rate: float | None = None,
) -> float:
    """Events per second through the outbox; with ``rate``, writes paced to that rate."""
    written: dict[str, float] = {}
    started = time.perf_counter()

    async def step(i: int) -> None:
        if rate is not None:
            await asyncio.sleep(max(0.0, started + i * per_tx / rate - time.perf_counter()))
        async with outbox.db.transaction() as session:
            for j in range(per_tx):
                at = time.perf_counter()
                n = i * per_tx + j
                key = f"sensor-{n % keys}" if keys else None
                message_id = await outbox.publish(reading(n), session=session, key=key)
                written[message_id] = at

    async def run(count: int) -> float:
        nonlocal started
        timed.confirmed.clear()
        timed.done.clear()
        written.clear()
        timed.expected = count * per_tx
        started = time.perf_counter()
        await in_parallel(count, writers, step)
        await asyncio.wait_for(timed.done.wait(), 120)
        return time.perf_counter() - started

    await run(max(1, WARM_UP // per_tx))
    elapsed = await run(max(1, events // per_tx))
    lags.extend((timed.confirmed[m] - at) * 1000 for m, at in written.items())
    return (max(1, events // per_tx) * per_tx) / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writers", type=int, default=32)
    parser.add_argument("--per-transaction", type=int, default=1)
    parser.add_argument("--keys", type=int, default=64, help="distinct keys; 0 for none")
    parser.add_argument("--batch", type=int, default=200, help="the relay's batch size")
    parser.add_argument("--concurrency", type=int, default=2, help="relay passes at once")
    args = parser.parse_args()
    configure_logging(ServiceSettings(log_level="WARNING"))
    database_name = f"svckit_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{database_name}"')
    name = unique("bench-outbox")
    connection = await aio_pika.connect_robust(AMQP_URL)
    setup = await connection.channel()
    await topology(setup, name)
    url = PG_ADMIN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
    db = Database(
        f"{url}/{database_name}",
        service=name,
        create_schema=True,
        pool_size=args.writers + 4,
        max_overflow=4,
    )
    direct: list[float] = []
    outboxed: list[float] = []
    lags: list[float] = []
    paced: list[float] = []
    try:
        async with db, Bus(AMQP_URL, service=name, exchange=name) as bus:
            timed = Timed(bus.transport)
            relay_bus = Bus(transport=timed, service=name, exchange=name)
            outbox = Outbox(
                db,
                relay_bus,
                poll_interval=0.5,
                batch_size=args.batch,
                concurrency=args.concurrency,
            )
            async with outbox:
                for _ in range(args.rounds):
                    direct.append(await direct_round(bus, args.events, args.writers))
                    outboxed.append(
                        await outbox_round(
                            outbox,
                            timed,
                            args.events,
                            args.writers,
                            per_tx=args.per_transaction,
                            keys=args.keys,
                            lags=lags,
                        )
                    )
                # The lag again, at half the rate the outbox reached: a load it keeps up with.
                half = statistics.median(outboxed) / 2
                await outbox_round(
                    outbox,
                    timed,
                    args.events // 2,
                    args.writers,
                    per_tx=args.per_transaction,
                    keys=args.keys,
                    lags=paced,
                    rate=half,
                )
    finally:
        await cleanup(setup, name)
        await connection.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
        await admin.close()
    lags.sort()
    paced.sort()
    report(
        "outbox",
        outboxed,
        direct,
        events=args.events,
        writers=args.writers,
        per_transaction=args.per_transaction,
        keys=args.keys,
        batch=args.batch,
        concurrency=args.concurrency,
        lag_ms={
            "median": round(statistics.median(lags), 1),
            "p99": round(lags[int(len(lags) * 0.99) - 1], 1),
        },
        half_load={
            "events_per_s": round(statistics.median(outboxed) / 2, 1),
            "lag_ms_median": round(statistics.median(paced), 1),
            "lag_ms_p99": round(paced[int(len(paced) * 0.99) - 1], 1),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
