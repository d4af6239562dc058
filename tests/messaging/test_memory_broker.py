"""What the embedded broker offers tests beyond the transport contract."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from svckit.messaging import Outgoing
from svckit.messaging.memory import (
    PUBLISHED_KEPT,
    MemoryBroker,
    MemoryTransport,
    broker_for,
    forget_broker,
)
from svckit.messaging.transport import QueueSpec


def _message(n: int, routing_key: str = "jobs.run") -> Outgoing:
    return Outgoing(
        body=json.dumps({"n": n}).encode(),
        routing_key=routing_key,
        message_id=f"m{n}",
        timestamp=datetime.now(UTC),
    )


def test_published_keeps_the_latest_messages_only() -> None:
    broker = MemoryBroker()
    broker.declare_exchange("ex")
    for n in range(PUBLISHED_KEPT + 5):
        broker.publish("ex", _message(n), mandatory=False)
    assert broker.published_count == PUBLISHED_KEPT + 5
    assert len(broker.published) == PUBLISHED_KEPT
    assert broker.published[0].message_id == "m5"


def test_each_memory_url_names_one_broker_per_process() -> None:
    name = uuid.uuid4().hex
    assert broker_for(f"memory://{name}") is broker_for(f"memory://{name}/")
    assert broker_for(f"memory://{name}") is not broker_for(f"memory://{name}-other")
    with pytest.raises(ValueError, match="not a memory URL"):
        broker_for("amqp://localhost/")
    kept = broker_for(f"memory://{name}")
    forget_broker(f"memory://{name}")
    assert broker_for(f"memory://{name}") is not kept


async def test_a_requeued_message_goes_back_where_it_was() -> None:
    transport = MemoryTransport(broker=MemoryBroker())
    await transport.connect()
    await transport.declare_exchange("ex")
    await transport.declare_queue(QueueSpec(name="q", exchange="ex", patterns=("jobs.#",)))
    for n in range(3):
        await transport.publish("ex", _message(n), mandatory=True)
    first = await transport.get("q")
    second = await transport.get("q")
    assert first is not None
    assert second is not None
    await second.nack(requeue=True)
    await first.nack(requeue=True)
    assert [m.message_id for m in transport.broker.messages("q")] == ["m0", "m1", "m2"]


async def test_wait_idle_times_out_while_a_message_waits_for_its_consumer() -> None:
    transport = MemoryTransport(broker=MemoryBroker())
    await transport.connect()
    await transport.declare_exchange("ex")
    await transport.declare_queue(QueueSpec(name="q", exchange="ex", patterns=("#",)))

    async def never_settles(delivery: object) -> None:
        del delivery

    await transport.consume("q", never_settles, prefetch=1)
    await transport.publish("ex", _message(1), mandatory=True)
    with pytest.raises(TimeoutError):
        await transport.broker.wait_idle(timeout=0.05)


async def test_the_delivery_limit_dead_letters_with_an_x_death_record() -> None:
    transport = MemoryTransport(broker=MemoryBroker())
    await transport.connect()
    await transport.declare_exchange("ex")
    spec = QueueSpec(name="q", exchange="ex", patterns=("#",), delivery_limit=2)
    await transport.declare_queue(spec)
    await transport.publish("ex", _message(1), mandatory=True)
    for _ in range(3):
        delivery = await transport.get("q")
        assert delivery is not None
        await delivery.nack(requeue=True)
    [letter] = transport.broker.messages("q.dlq")
    [death] = letter.headers["x-death"]
    assert death["reason"] == "delivery_limit"
    assert death["queue"] == "q"
    assert death["routing-keys"] == ["jobs.run"]
