"""Publish persistent ~200-byte JSON messages with publisher confirms: svckit vs plain aio-pika.

Both sides publish the same pydantic model (the plain side encodes it itself, as a user
would) to a topic exchange bound to a quorum queue, keeping ``--window`` publishes in
flight and waiting for every confirm, after an untimed warm-up of the same kind. Rounds
alternate; the line printed gives the medians
(messages per second) and the median of the per-round ratios.

    python bench/publish.py [--messages 10000] [--rounds 5] [--window 500]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aio_pika
from _common import AMQP_URL, Reading, reading, report, unique

from svckit.core.logging import configure_logging
from svckit.core.settings import ServiceSettings
from svckit.messaging import Bus

#: Publishes made before timing, on each side, so that neither is timed on a cold channel.
WARM_UP = 500


async def topology(channel: aio_pika.abc.AbstractChannel, exchange: str, queue: str) -> None:
    await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    declared = await channel.declare_queue(
        queue, durable=True, arguments={"x-queue-type": "quorum"}
    )
    await declared.bind(exchange, "bench.#")


async def cleanup(channel: aio_pika.abc.AbstractChannel, exchange: str, queue: str) -> None:
    await channel.queue_delete(queue)
    await channel.exchange_delete(exchange)


async def baseline_round(
    connection: aio_pika.abc.AbstractConnection, count: int, window: int
) -> float:
    name = unique("bench-publish-plain")
    channel = await connection.channel(publisher_confirms=True)
    await topology(channel, name, name)
    exchange = await channel.get_exchange(name)
    messages = [reading(i) for i in range(count)]

    async def publish_all(batch: list[Reading]) -> None:
        for start in range(0, len(batch), window):
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(
                            message.model_dump_json().encode(),
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                            content_type="application/json",
                        ),
                        routing_key=message.topic,
                    )
                    for message in batch[start : start + window]
                )
            )

    await publish_all(messages[:WARM_UP])
    started = time.perf_counter()
    await publish_all(messages)
    elapsed = time.perf_counter() - started
    await cleanup(channel, name, name)
    await channel.close()
    return count / elapsed


async def svckit_round(
    connection: aio_pika.abc.AbstractConnection, count: int, window: int
) -> float:
    name = unique("bench-publish-svckit")
    setup = await connection.channel()
    await topology(setup, name, name)
    messages = [reading(i) for i in range(count)]
    async with Bus(AMQP_URL, service=name, exchange=name) as bus:

        async def publish_all(batch: list[Reading]) -> None:
            for start in range(0, len(batch), window):
                await asyncio.gather(*(bus.publish(m) for m in batch[start : start + window]))

        await publish_all(messages[:WARM_UP])
        started = time.perf_counter()
        await publish_all(messages)
        elapsed = time.perf_counter() - started
    await cleanup(setup, name, name)
    await setup.close()
    return count / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--window", type=int, default=500)
    args = parser.parse_args()
    configure_logging(ServiceSettings(log_level="WARNING"))
    connection = await aio_pika.connect_robust(AMQP_URL)
    plain, ours = [], []
    async with connection:
        for _ in range(args.rounds):
            plain.append(await baseline_round(connection, args.messages, args.window))
            ours.append(await svckit_round(connection, args.messages, args.window))
    report("publish", ours, plain, messages=args.messages, window=args.window)


if __name__ == "__main__":
    asyncio.run(main())
