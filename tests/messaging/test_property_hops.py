"""Every AMQP property survives the broker's own hops: requeue, rejection to dead
letters and the return from a delay queue, on the embedded broker as on RabbitMQ."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from svckit.messaging.transport import Outgoing, QueueSpec
from tests.messaging.conftest import eventually

if TYPE_CHECKING:
    from collections.abc import Callable

    from svckit.messaging import Bus
    from svckit.messaging.transport import Delivery, Transport

_PROPERTIES: dict[str, Any] = {
    "content_type": "application/json",
    "content_encoding": "identity",
    "priority": 3,
    "reply_to": "answers",
    "app_id": "billing",
    "user_id": "guest",  # RabbitMQ checks it against the connection's user
    "type": "invoice.issued",
    "correlation_id": "c-1",
}


def _outgoing(queue: str, **extra: Any) -> Outgoing:
    return Outgoing(
        body=b'{"n": 1}',
        routing_key=queue,
        message_id=f"m-{uuid.uuid4().hex[:8]}",
        timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        headers={"x-app": "kept"},
        **_PROPERTIES,
        **extra,
    )


def _properties(delivery: Delivery) -> dict[str, Any]:
    return {name: getattr(delivery, name) for name in _PROPERTIES}


async def _get(transport: Transport, queue: str) -> Delivery:
    taken: list[Delivery] = []

    async def arrived() -> bool:
        delivery = await transport.get(queue)
        if delivery is not None:
            taken.append(delivery)
        return bool(taken)

    await eventually(arrived, message=f"a message in {queue}")
    return taken[0]


async def _queue(bus: Bus) -> QueueSpec:
    spec = QueueSpec(name=f"{bus.service}.hops", exchange=bus.exchange, patterns=())
    await bus.transport.declare_exchange(spec.exchange)
    await bus.transport.declare_queue(spec)
    return spec


async def test_a_requeued_message_keeps_its_properties(make_bus: Callable[..., Bus]) -> None:
    bus = make_bus()
    async with bus:
        spec = await _queue(bus)
        sent = _outgoing(spec.name)
        await bus.transport.publish("", sent, mandatory=True)
        first = await _get(bus.transport, spec.name)
        await first.nack(requeue=True)
        again = await _get(bus.transport, spec.name)
        await again.ack()
    assert again.redelivered
    assert _properties(again) == _properties(first) == _PROPERTIES
    assert again.message_id == sent.message_id
    assert again.headers["x-app"] == "kept"


async def test_a_rejected_message_keeps_its_properties_in_dead_letters(
    make_bus: Callable[..., Bus],
) -> None:
    bus = make_bus()
    async with bus:
        spec = await _queue(bus)
        await bus.transport.publish("", _outgoing(spec.name, expiration="600000"), mandatory=True)
        delivery = await _get(bus.transport, spec.name)
        assert delivery.expiration == "600000"
        await delivery.nack(requeue=False)
        dead = await _get(bus.transport, spec.dead_letter_queue)
        await dead.ack()
    assert _properties(dead) == _PROPERTIES
    assert dead.headers["x-app"] == "kept"
    # As RabbitMQ does, the expiration moves into the death record, so that the message
    # does not expire again in the dead-letter queue.
    assert dead.expiration is None
    [death] = dead.headers["x-death"]
    assert (death["queue"], death["reason"]) == (spec.name, "rejected")
    assert death["original-expiration"] == "600000"


async def test_a_message_back_from_a_delay_queue_keeps_its_properties(
    make_bus: Callable[..., Bus],
) -> None:
    bus = make_bus()
    async with bus:
        spec = await _queue(bus)
        delay_queue = await bus.transport.declare_delay_queue(spec, 50)
        await bus.transport.publish("", _outgoing(delay_queue), mandatory=True)
        back = await _get(bus.transport, spec.name)
        await back.ack()
    assert _properties(back) == _PROPERTIES
    [death] = back.headers["x-death"]
    assert (death["queue"], death["reason"]) == (delay_queue, "expired")
