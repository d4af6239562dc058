"""Queue topology on RabbitMQ: what is declared, and a clear error when it cannot be."""

from __future__ import annotations

import uuid

import aio_pika
import pytest

from svckit import ConfigurationError
from svckit.messaging import Bus, Event, QueueType, consumer
from tests.messaging.conftest import AMQP_URL, _delete_amqp_topology


class Note(Event, topic="notes.added"):
    text: str


@consumer(name="notes")
async def quorum_notes(note: Note) -> None:
    del note


@consumer(name="notes", queue_type="classic")
async def classic_notes(note: Note) -> None:
    del note


@pytest.mark.rabbitmq
async def test_a_queue_declared_with_other_arguments_says_what_to_do() -> None:
    suffix = uuid.uuid4().hex[:8]
    first = Bus(AMQP_URL, service=f"topo-{suffix}", exchange=f"topo-ex-{suffix}")
    second = Bus(AMQP_URL, service=f"topo-{suffix}", exchange=f"topo-ex-{suffix}")
    try:
        async with first:
            c = first.add_consumer(quorum_notes)
            await c.start()
            await c.stop()
        async with second:
            changed = second.add_consumer(classic_notes)
            assert changed.queue.queue_type is QueueType.CLASSIC
            with pytest.raises(ConfigurationError, match="queue_type='classic'") as caught:
                await changed.start()
            assert "delete the queue" in str(caught.value)
    finally:
        await _delete_amqp_topology([first, second], first.exchange)


@pytest.mark.rabbitmq
async def test_queues_are_durable_quorum_queues_with_a_delivery_limit() -> None:
    suffix = uuid.uuid4().hex[:8]
    bus = Bus(AMQP_URL, service=f"topo-{suffix}", exchange=f"topo-ex-{suffix}")
    try:
        async with bus:
            c = bus.add_consumer(quorum_notes)
            await c.start()
            await c.stop()
        connection = await aio_pika.connect(AMQP_URL)
        async with connection:
            channel = await connection.channel()
            # Declaring again with the same arguments succeeds only if they match exactly.
            await channel.declare_queue(
                c.name,
                durable=True,
                arguments={
                    "x-queue-type": "quorum",
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": f"{c.name}.dlq",
                    "x-delivery-limit": 20,
                },
            )
    finally:
        await _delete_amqp_topology([bus], bus.exchange)
