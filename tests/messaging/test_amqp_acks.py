"""Acknowledgements on the real RabbitMQ: prompt behind a slow handler, never twice.

- A finished message is acknowledged at once, whatever still runs before it: the
  broker's count of unacknowledged messages falls to the one slow handler (so a kill
  re-runs only that one).
- When the broker cancels a consumer (its queue was deleted) while a handler runs, the
  consumer subscribes again on the same channel; the old delivery, settled later, never
  makes an ack that covers the new subscription's deliveries, or the other way round
  (RabbitMQ closes the channel on an unknown delivery tag).
"""

from __future__ import annotations

import asyncio

import aio_pika
import pytest

from svckit.messaging import Bus, Event, Incoming, consumer
from svckit.messaging.amqp import AmqpTransport

from ._amqp_helpers import AMQP_URL, delete_topology, rabbitmqctl, unique, wait_until


class Job(Event, topic="acks.job"):
    n: int


async def unacknowledged(queue: str) -> int:
    """The broker's count of delivered, unacknowledged messages of ``queue``."""
    output = await rabbitmqctl(
        "list_queues", "--quiet", "--no-table-headers", "name", "messages_unacknowledged"
    )
    for line in output.splitlines():
        name, _, count = line.strip().partition("\t")
        if name == queue:
            return int(count)
    raise AssertionError(f"no queue {queue!r} on the broker")


@pytest.mark.rabbitmq
@pytest.mark.timeout(60)
async def test_finished_messages_are_acknowledged_while_a_slow_one_still_runs() -> None:
    release = asyncio.Event()
    finished: list[int] = []

    @consumer("acks.#", name="slow", prefetch=20)
    async def handle(job: Job) -> None:
        if job.n == 0:
            await release.wait()
        finished.append(job.n)

    bus = Bus(AMQP_URL, service=unique("acks"), exchange=unique("acks-ex"))
    slow = bus.add_consumer(handle)
    try:
        async with bus:
            await slow.start()
            for n in range(6):  # the slow one first, then five fast ones behind it
                await bus.publish(Job(n=n))

            async def fast_done() -> bool:
                return len(finished) == 5

            await wait_until(fast_done, timeout=10, what="the fast handlers finished")
            count = -1

            async def only_the_slow_one_unacknowledged() -> bool:
                nonlocal count
                count = await unacknowledged(slow.name)
                return count == 1

            await wait_until(
                only_the_slow_one_unacknowledged,
                timeout=10,
                interval=0.2,
                what="the finished messages acknowledged",
                explain=lambda: f"{count} unacknowledged",
            )
            assert 0 not in finished  # the slow one still runs
            release.set()

            async def none_unacknowledged() -> bool:
                return await unacknowledged(slow.name) == 0

            await wait_until(none_unacknowledged, timeout=10, interval=0.2, what="all acked")
            await slow.stop()
            await slow.drain(5)
    finally:
        release.set()
        await delete_topology(bus.exchange, [slow.name, slow.queue.dead_letter_queue])


async def _delete_queue(name: str) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)


@pytest.mark.rabbitmq
@pytest.mark.timeout(60)
async def test_a_delivery_settled_after_its_consumer_was_cancelled_is_not_acknowledged_twice() -> (
    None
):
    release = asyncio.Event()
    started = asyncio.Event()
    handled: list[tuple[int, bool]] = []

    @consumer("acks.#", name="cancelled", prefetch=20)
    async def handle(job: Job, incoming: Incoming) -> None:
        if job.n == 0:
            started.set()
            await release.wait()
        handled.append((job.n, incoming.redelivered))

    transport = AmqpTransport(AMQP_URL, watchdog_interval=0.1)
    bus = Bus(service=unique("acks"), exchange=unique("acks-ex"), transport=transport)
    cancelled = bus.add_consumer(handle)
    try:
        async with bus:
            await cancelled.start()
            subscription = cancelled._subscription
            channel = subscription._underlay  # type: ignore[union-attr]
            first_tag = subscription._tag  # type: ignore[union-attr]
            await bus.publish(Job(n=0))
            await asyncio.wait_for(started.wait(), 10)
            await _delete_queue(cancelled.name)  # the broker cancels the consumer

            async def consuming_again() -> bool:
                return subscription._tag != first_tag and cancelled.active  # type: ignore[union-attr]

            await wait_until(consuming_again, timeout=10, what="the watchdog to consume again")
            for n in (1, 2, 3):
                await bus.publish(Job(n=n))

            async def handled_new() -> bool:
                return len(handled) == 3

            await wait_until(handled_new, timeout=10, what="the new subscription's messages")
            release.set()  # the old delivery settles now, on the same channel
            await bus.publish(Job(n=4))

            async def handled_all() -> bool:
                return len(handled) == 5

            await wait_until(handled_all, timeout=10, what="every message")
            # The channel was never closed by the broker: nothing came back redelivered.
            assert subscription._underlay is channel  # type: ignore[union-attr]
            assert not channel.is_closed
            assert sorted(handled) == [(n, False) for n in range(5)]
            await cancelled.stop()
            await cancelled.drain(5)
    finally:
        release.set()
        await delete_topology(bus.exchange, [cancelled.name, cancelled.queue.dead_letter_queue])
