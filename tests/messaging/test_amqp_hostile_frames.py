"""Messages whose frames pamqp cannot decode cost one message, never the connection.

A message id or header key that is not UTF-8, or a timestamp past the year 9999, used to
make aiormq's frame reader fail and close the connection (again at each redelivery). The
frames are sent byte by byte by a raw client, as a foreign publisher would send them.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import pytest

from svckit.messaging import Bus, Event, Incoming, consumer
from svckit.messaging._amqp_acks import AmqpDelivery
from svckit.messaging.amqp import AmqpTransport
from svckit.messaging.transport import QueueSpec, QueueType

from ._amqp_helpers import AMQP_URL, delete_topology, message_count, unique, wait_until
from ._amqp_wire import RawPublisher, header_frame, longstr, nested, timestamp

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from svckit.messaging.transport import Delivery

#: A timestamp past the year 9999 as pamqp reads it (a value this large counts as ms).
PAST_9999 = (253_402_300_800 + 86_400) * 1000
BAD_INPUTS: dict[str, dict[str, Any]] = {
    "message id not UTF-8": {"message_id": b"id-\xff\xfe-bad"},
    "routing key not UTF-8": {"routing_key": b"hostile.\xff\xfe"},
    "header key not UTF-8": {"headers": [(b"x-\xc3\x28", longstr(b"value"))]},
    "timestamp past 9999": {"timestamp": PAST_9999},
    "largest timestamp": {"timestamp": 2**64 - 1},
    "headers nested 3000 deep": {"headers": [(b"deep", nested(3000))]},
    "header timestamp past 9999": {
        "headers": [(b"ok", longstr(b"fine")), (b"when", timestamp(PAST_9999))]
    },
}


class Ping(Event, topic="hostile.ping"):
    n: int


@pytest.fixture
async def raw() -> AsyncIterator[RawPublisher]:
    client = await RawPublisher.open()
    yield client
    await client.close()


async def publish_neighbourhood(raw: RawPublisher, queue: QueueSpec, bad: dict[str, Any]) -> None:
    """A valid message, the bad one, another valid one: in that order, on one queue."""
    for n, values in ((1, {}), (2, bad), (3, {})):
        body = json.dumps({"n": n}).encode()
        raw_values = {"message_id": f"m-{n}".encode(), **values}
        routing_key = raw_values.pop("routing_key", b"hostile.ping")
        frame = header_frame(1, len(body), **raw_values)
        await raw.publish(routing_key, body, frame, exchange=queue.exchange)


@pytest.mark.rabbitmq
@pytest.mark.parametrize("bad", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
async def test_an_undecodable_message_reaches_the_consumer_marked_and_the_connection_stays(
    raw: RawPublisher, bad: dict[str, Any]
) -> None:
    queue = QueueSpec(
        name=unique("hostile"),
        exchange=unique("hostile-ex"),
        patterns=("hostile.#",),
        queue_type=QueueType.CLASSIC,
    )
    transport = AmqpTransport(AMQP_URL)
    seen: list[AmqpDelivery] = []

    async def on_delivery(delivery: Delivery) -> None:
        assert isinstance(delivery, AmqpDelivery)
        seen.append(delivery)
        await delivery.ack()

    try:
        await transport.connect()
        await transport.declare_exchange(queue.exchange)
        await transport.declare_queue(queue)
        connection = transport._consumer.transport.connection
        subscription = await transport.consume(queue.name, on_delivery, prefetch=10)
        await publish_neighbourhood(raw, queue, bad)

        async def all_seen() -> bool:
            return len(seen) == 3

        await wait_until(all_seen, timeout=10, what="three deliveries")
        assert [json.loads(d.body)["n"] for d in seen] == [1, 2, 3]
        assert [d.malformed is not None for d in seen] == [False, True, False]
        assert seen[1].redelivered is False  # the first delivery, not a redelivery
        # Whatever was replaced is still text svckit can encode again.
        assert seen[1].message_id is None or seen[1].message_id.encode()
        assert all(key.encode() for key in seen[1].headers)
        assert seen[1].routing_key.encode()
        # Never lost: the same connection, the same consumer.
        assert transport._consumer.transport.connection is connection
        assert not connection.is_closed
        assert subscription.active
        assert await message_count(queue.name) == 0
    finally:
        await transport.close()
        await delete_topology(queue.exchange, [queue.name, queue.dead_letter_queue])


@pytest.mark.rabbitmq
async def test_a_worker_dead_letters_or_handles_a_bad_message_and_handles_its_neighbours(
    raw: RawPublisher,
) -> None:
    handled: list[int] = []

    @consumer("hostile.#", name="pings", prefetch=10)
    async def on_ping(ping: Ping, incoming: Incoming) -> None:
        assert incoming.attempt == 1
        handled.append(ping.n)

    bus = Bus(AMQP_URL, service=unique("hostile"), exchange=unique("hostile-ex"))
    pings = bus.add_consumer(on_ping)
    try:
        async with bus:
            await pings.start()
            for bad in BAD_INPUTS.values():
                await publish_neighbourhood(raw, pings.queue, bad)

            async def settled() -> bool:
                done = len(handled) + await message_count(pings.queue.dead_letter_queue)
                return done == 3 * len(BAD_INPUTS)

            await wait_until(settled, timeout=20, what="every message handled or dead-lettered")
            assert handled.count(1) == handled.count(3) == len(BAD_INPUTS)
            assert await message_count(pings.name) == 0
            assert pings.active
            await pings.stop()
            await pings.drain(5)
    finally:
        await asyncio.shield(
            delete_topology(bus.exchange, [pings.name, pings.queue.dead_letter_queue])
        )


@pytest.mark.rabbitmq
async def test_get_takes_a_message_whose_routing_key_is_not_utf8(raw: RawPublisher) -> None:
    # A dead-letter queue keeps what the broker dead-lettered, routing key and all.
    queue = QueueSpec(
        name=unique("hostile-get"),
        exchange=unique("hostile-ex"),
        patterns=("#",),
        queue_type=QueueType.CLASSIC,
    )
    transport = AmqpTransport(AMQP_URL)
    try:
        await transport.connect()
        await transport.declare_exchange(queue.exchange)
        await transport.declare_queue(queue)
        connection = transport._publisher.transport.connection
        await raw.publish(b"rk.\xff", b"{}", header_frame(1, 2), exchange=queue.exchange)
        delivery = await transport.get(queue.name)
        assert isinstance(delivery, AmqpDelivery)
        assert delivery.malformed == "the routing key is not valid UTF-8"
        assert delivery.routing_key == "rk.\ufffd"
        await delivery.ack()
        assert await transport.get(queue.name) is None
        assert transport._publisher.transport.connection is connection
    finally:
        await transport.close()
        await delete_topology(queue.exchange, [queue.name, queue.dead_letter_queue])
