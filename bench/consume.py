"""Drain a queue of persistent ~200-byte JSON messages: svckit consumer vs plain aio-pika.

Both sides drain the same quorum queue shape, filled the same way, with prefetch 100 and a
handler that validates the body into the same pydantic model; plain aio-pika acks every
message as its handler finishes. Rounds alternate between the two, and the line printed
gives the medians (messages per second) and the median of the per-round ratios.

    python bench/consume.py [--messages 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aio_pika
from _common import AMQP_URL, Reading, reading, report, unique

from svckit.core.logging import configure_logging
from svckit.core.settings import ServiceSettings
from svckit.messaging import Bus, consumer

PREFETCH = 100


async def fill(channel: aio_pika.abc.AbstractChannel, queue: str, count: int) -> None:
    bodies = [reading(i).model_dump_json().encode() for i in range(count)]
    exchange = channel.default_exchange
    for start in range(0, count, 500):
        await asyncio.gather(
            *(
                exchange.publish(
                    aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=queue,
                )
                for body in bodies[start : start + 500]
            )
        )


async def declare(channel: aio_pika.abc.AbstractChannel, name: str) -> None:
    await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})


async def baseline_round(connection: aio_pika.abc.AbstractConnection, count: int) -> float:
    name = unique("bench-consume-plain")
    setup = await connection.channel()
    await declare(setup, name)
    await fill(setup, name, count)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=PREFETCH)
    queue = await channel.get_queue(name)
    done = asyncio.Event()
    seen = 0

    async def handle(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        nonlocal seen
        async with message.process():
            Reading.model_validate_json(message.body)
        seen += 1
        if seen == count:
            done.set()

    started = time.perf_counter()
    tag = await queue.consume(handle)
    await done.wait()
    elapsed = time.perf_counter() - started
    await queue.cancel(tag)
    await channel.close()
    await setup.queue_delete(name)
    await setup.close()
    return count / elapsed


async def svckit_round(connection: aio_pika.abc.AbstractConnection, count: int) -> float:
    service = unique("bench-consume-svckit")
    exchange = service
    done = asyncio.Event()
    seen = 0

    @consumer("bench.#", name="drain", prefetch=PREFETCH)
    async def drain(_: Reading) -> None:
        nonlocal seen
        seen += 1
        if seen == count:
            done.set()

    bus = Bus(AMQP_URL, service=service, exchange=exchange)
    drainer = bus.add_consumer(drain)
    async with bus:
        await bus.transport.declare_queue(drainer.queue)
        setup = await connection.channel()
        await fill(setup, drainer.name, count)
        started = time.perf_counter()
        await drainer.start()
        await done.wait()
        elapsed = time.perf_counter() - started
        await drainer.stop()
        await drainer.drain(5)
        for queue in (drainer.name, drainer.queue.dead_letter_queue):
            await setup.queue_delete(queue)
        await setup.exchange_delete(exchange)
        await setup.close()
    return count / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    configure_logging(ServiceSettings(log_level="WARNING"))
    connection = await aio_pika.connect_robust(AMQP_URL)
    plain, ours = [], []
    async with connection:
        for _ in range(args.rounds):
            plain.append(await baseline_round(connection, args.messages))
            ours.append(await svckit_round(connection, args.messages))
    report("consume", ours, plain, messages=args.messages, prefetch=PREFETCH)


if __name__ == "__main__":
    asyncio.run(main())
