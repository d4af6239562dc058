"""The watchdog: a live connection whose consumer is gone declares and consumes again."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import aio_pika
import pytest

from svckit import HealthStatus
from svckit.messaging import Bus, Event, consumer
from svckit.messaging.amqp import AmqpTransport
from tests.messaging.conftest import AMQP_URL, Recorder, _delete_amqp_topology, eventually

if TYPE_CHECKING:
    from svckit.messaging._consume import Consumer


class Tick(Event, topic="clock.tick"):
    n: int


async def _delete_queue(name: str) -> None:
    """What an operator (or a lost node) does under a running consumer."""
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)


def _bus(recorder: Recorder, watchdog_interval: float) -> tuple[Bus, Consumer]:
    @consumer()
    async def on_tick(tick: Tick) -> None:
        await recorder.add(tick.n)

    suffix = uuid.uuid4().hex[:8]
    transport = AmqpTransport(AMQP_URL, watchdog_interval=watchdog_interval)
    bus = Bus(service=f"wd-{suffix}", exchange=f"wd-ex-{suffix}", transport=transport)
    return bus, bus.add_consumer(on_tick)


async def _status(bus: Bus) -> HealthStatus:
    return (await bus.health()).status


@pytest.mark.rabbitmq
async def test_readiness_is_false_while_the_consumer_is_gone(recorder: Recorder) -> None:
    # A watchdog too slow to interfere: this test runs its pass by hand.
    bus, c = _bus(recorder, watchdog_interval=3600)
    try:
        async with bus:
            await c.start()
            assert await _status(bus) is HealthStatus.UP
            await _delete_queue(c.name)

            async def down() -> bool:
                return await _status(bus) is HealthStatus.DOWN

            await eventually(down, timeout=5, message="readiness to go false")
            assert "not consuming" in (await bus.health()).detail
            assert isinstance(bus.transport, AmqpTransport)
            await bus.transport.check_subscriptions()
            assert await _status(bus) is HealthStatus.UP
            await bus.publish(Tick(n=1))
            assert await recorder.wait_for(1) == [1]
            await c.stop()
    finally:
        await _delete_amqp_topology([bus], bus.exchange)


@pytest.mark.rabbitmq
async def test_the_watchdog_consumes_again_by_itself(recorder: Recorder) -> None:
    bus, c = _bus(recorder, watchdog_interval=0.2)
    try:
        async with bus:
            await c.start()
            await bus.publish(Tick(n=1))
            await recorder.wait_for(1)
            subscription = c._subscription
            first_tag = subscription._tag  # type: ignore[union-attr]
            await _delete_queue(c.name)

            async def consuming_again() -> bool:
                # A new consumer tag: the broker cancelled the old one, the watchdog made this.
                return (
                    subscription._tag != first_tag  # type: ignore[union-attr]
                    and c.active
                    and await _status(bus) is HealthStatus.UP
                )

            await eventually(consuming_again, timeout=10, message="the watchdog to act")
            await bus.publish(Tick(n=2))
            assert await recorder.wait_for(2) == [1, 2]
            await c.stop()
    finally:
        await _delete_amqp_topology([bus], bus.exchange)
