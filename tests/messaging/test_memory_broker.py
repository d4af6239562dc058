"""What the embedded broker offers tests beyond the transport contract."""

from __future__ import annotations

import asyncio
import contextvars
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
import structlog
from structlog.testing import capture_logs

from svckit import PublishError
from svckit.core.logging import bind_context, bound
from svckit.messaging import Bus, Event, Outgoing, consumer
from svckit.messaging.memory import (
    PUBLISHED_KEPT,
    MemoryBroker,
    MemoryTransport,
    broker_for,
    forget_broker,
)
from svckit.messaging.transport import QueueSpec
from tests.messaging.conftest import eventually

if TYPE_CHECKING:
    from svckit.messaging.transport import Delivery


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


async def _one_queue() -> MemoryTransport:
    transport = MemoryTransport(broker=MemoryBroker())
    await transport.connect()
    await transport.declare_exchange("ex")
    await transport.declare_queue(QueueSpec(name="q", exchange="ex", patterns=("#",)))
    return transport


async def test_callbacks_take_deliveries_in_order() -> None:
    transport = await _one_queue()
    seen: list[str | None] = []

    async def handle(delivery: Delivery) -> None:
        seen.append(delivery.message_id)
        await delivery.ack()

    await transport.consume("q", handle, prefetch=8)
    for n in range(500):
        await transport.publish("ex", _message(n), mandatory=True)
    await transport.broker.wait_idle()
    assert seen == [f"m{n}" for n in range(500)]


async def test_a_callback_waiting_on_io_does_not_hold_up_the_next_delivery() -> None:
    transport = await _one_queue()
    release = asyncio.Event()
    acked: list[str | None] = []

    async def handle(delivery: Delivery) -> None:
        if delivery.message_id == "m0":
            await release.wait()
        await delivery.ack()
        acked.append(delivery.message_id)

    await transport.consume("q", handle, prefetch=2)
    await transport.publish("ex", _message(0), mandatory=True)
    await transport.publish("ex", _message(1), mandatory=True)
    await transport.publish("ex", _message(2), mandatory=True)
    await eventually(lambda: acked == ["m1", "m2"], message="m1 and m2 past the waiting m0")
    release.set()
    await transport.broker.wait_idle()
    assert acked == ["m1", "m2", "m0"]


async def test_cancel_gives_back_what_no_callback_took_yet_in_order() -> None:
    transport = await _one_queue()
    called: list[str | None] = []

    async def handle(delivery: Delivery) -> None:
        called.append(delivery.message_id)

    subscription = await transport.consume("q", handle, prefetch=3)
    for n in range(3):
        # Delivered to the subscription at once; its tasks start at the next loop turn.
        transport.broker.publish("ex", _message(n), mandatory=True)
    await subscription.cancel()
    await transport.broker.wait_idle()
    assert called == []
    back = transport.broker.messages("q")
    assert [m.message_id for m in back] == ["m0", "m1", "m2"]
    delivery = await transport.get("q")
    assert delivery is not None
    assert delivery.redelivered


async def test_a_failing_callback_is_logged_and_leaves_only_its_delivery_unacked() -> None:
    transport = await _one_queue()
    acked: list[str | None] = []

    async def handle(delivery: Delivery) -> None:
        if delivery.message_id == "m0":
            raise RuntimeError("callback bug")
        await delivery.ack()
        acked.append(delivery.message_id)

    await transport.consume("q", handle, prefetch=2)
    with capture_logs() as logs:
        for n in range(3):
            await transport.publish("ex", _message(n), mandatory=True)
        await eventually(lambda: acked == ["m1", "m2"], message="m1 and m2 acked")
    [failure] = logs
    assert (failure["event"], failure["queue"]) == ("a consumer callback failed", "q")
    # m0 stays unacknowledged, holding one prefetch slot, as on RabbitMQ.
    assert not transport.broker.idle
    await transport.close()
    assert [m.message_id for m in transport.broker.messages("q")] == ["m0"]


class _Ctx(Event, topic="ctx.seen"):
    n: int


_PUBLISHER_VAR: contextvars.ContextVar[str] = contextvars.ContextVar("publisher", default="")


async def test_a_handler_does_not_run_in_the_publishers_context() -> None:
    # Over RabbitMQ nothing of the publisher's context reaches the consumer; the embedded
    # broker must not carry it either (a test would pass here and fail in production).
    bus = Bus(f"memory://{uuid.uuid4().hex}", service="ctx", exchange="ex")
    seen: list[tuple[str, dict[str, object]]] = []
    done = asyncio.Event()

    @consumer("ctx.#", name="look")
    async def look(event: _Ctx) -> None:
        del event
        fields = {**structlog.contextvars.get_contextvars(), **bound()}
        seen.append((_PUBLISHER_VAR.get(), fields))
        _PUBLISHER_VAR.set("set by a handler")  # must not leak to the next delivery
        if len(seen) == 2:
            done.set()

    c = bus.add_consumer(look)
    async with bus:
        await c.start()
        token = _PUBLISHER_VAR.set("the publisher's")
        with (
            structlog.contextvars.bound_contextvars(user="publisher-bound"),
            bind_context(user="publisher-bound"),
        ):
            await bus.publish(_Ctx(n=1))
            await bus.publish(_Ctx(n=2))
        _PUBLISHER_VAR.reset(token)
        async with asyncio.timeout(5):
            await done.wait()
        await c.stop()
    assert [var for var, _ in seen] == ["", ""]
    assert all("user" not in fields for _, fields in seen)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"expiration": "soon"}, id="expiration-not-digits"),
        pytest.param({"expiration": "-5"}, id="expiration-negative"),
        pytest.param({"expiration": "１０"}, id="expiration-not-ascii"),  # noqa: RUF001
        pytest.param({"priority": 256}, id="priority-too-high"),
        pytest.param({"priority": -1}, id="priority-negative"),
    ],
)
async def test_properties_rabbitmq_refuses_are_refused(change: dict[str, Any]) -> None:
    transport = await _one_queue()
    with pytest.raises(PublishError, match="invalid"):
        await transport.publish("ex", replace(_message(1), **change), mandatory=True)
    assert transport.broker.published_count == 0


async def test_a_message_whose_expiration_ran_out_is_dead_lettered_not_delivered() -> None:
    transport = await _one_queue()
    await transport.declare_queue(QueueSpec(name="q2", exchange="ex", patterns=("late.#",)))
    await transport.publish("ex", replace(_message(1, "late.one"), expiration="0"), mandatory=True)
    await transport.publish(
        "ex", replace(_message(2, "late.two"), expiration="600000"), mandatory=True
    )
    delivery = await transport.get("q2")
    assert delivery is not None
    assert delivery.message_id == "m2"  # m1 expired at the head of the queue
    [dead] = transport.broker.messages("q2.dlq")
    assert dead.message_id == "m1"
    assert dead.expiration is None
    assert dead.headers["x-death"][0]["reason"] == "expired"
    assert dead.headers["x-death"][0]["original-expiration"] == "0"
