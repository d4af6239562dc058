"""An outage of the RabbitMQ connection, made by a proxy the test cuts (the shared broker runs).

- A publish made while the broker is away raises `PublishError` once its deadline has
  passed: the deadline covers the wait for a connection, not only the frame write.
- The log says one warning per connection when it goes and one line when it is back;
  the client libraries' reconnect errors (one a second) stay out of it, and no task is
  left pending or callback failing.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
import structlog

from svckit.core.errors import PublishError
from svckit.core.health import HealthStatus
from svckit.messaging import Bus, Event, consumer
from svckit.messaging.amqp import AmqpTransport
from svckit.messaging.transport import Outgoing, QueueSpec

from ._amqp_helpers import delete_topology, unique, wait_until
from ._amqp_wire import Proxy, proxy

if TYPE_CHECKING:
    from svckit.messaging.transport import Delivery

DEADLINE = 1.0


def outgoing(n: int) -> Outgoing:
    return Outgoing(
        body=b"{}", routing_key="outage.test", message_id=f"m-{n}", timestamp=datetime.now(UTC)
    )


async def _status(transport: AmqpTransport) -> HealthStatus:
    return (await transport.health()).status


async def _outage(transport: AmqpTransport, broker: Proxy, queue: QueueSpec) -> list[int]:
    """Cut the broker away, publish meanwhile, bring it back; return what was consumed."""
    consumed: list[int] = []

    async def on_delivery(delivery: Delivery) -> None:
        consumed.append(int((delivery.message_id or "m-0")[2:]))
        await delivery.ack()

    await transport.consume(queue.name, on_delivery, prefetch=10)
    await transport.publish(queue.exchange, outgoing(1), mandatory=True)
    await broker.cut()

    async def down() -> bool:
        return await _status(transport) is HealthStatus.DOWN

    await wait_until(down, timeout=10, what="readiness down")
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(PublishError, match="within 1 s"):
        await transport.publish(queue.exchange, outgoing(2), mandatory=True)
    # A liveness bound, far above the deadline: it used to wait for over a minute.
    assert loop.time() - started < DEADLINE + 5

    await broker.restore()

    async def up() -> bool:
        return await _status(transport) is HealthStatus.UP

    await wait_until(up, timeout=20, what="readiness back")
    await transport.publish(queue.exchange, outgoing(3), mandatory=True)

    async def consumed_again() -> bool:
        return 3 in consumed

    await wait_until(consumed_again, timeout=20, what="consuming after the outage")
    return consumed


@pytest.mark.rabbitmq
@pytest.mark.timeout(90)
async def test_an_outage_costs_a_publish_its_deadline_and_the_log_two_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: loop_errors.append(context))
    caplog.set_level(logging.WARNING)
    queue = QueueSpec(name=unique("outage"), exchange=unique("outage-ex"), patterns=("#",))
    async with proxy() as broker:
        transport = AmqpTransport(broker.url, publish_timeout=DEADLINE, watchdog_interval=0.2)
        try:
            await transport.connect()
            await transport.declare_exchange(queue.exchange)
            await transport.declare_queue(queue)
            with structlog.testing.capture_logs() as lines:
                consumed = await _outage(transport, broker, queue)
        finally:
            await transport.close()
            await delete_topology(queue.exchange, [queue.name, queue.dead_letter_queue])
    gc.collect()

    assert 1 in consumed
    lost = [line for line in lines if line["event"] == "lost the RabbitMQ connection; reconnecting"]
    back = [line for line in lines if line["event"] == "RabbitMQ connection is back"]
    assert sorted(line["connection"] for line in lost) == ["consume", "publish"]
    assert sorted(line["connection"] for line in back) == ["consume", "publish"]
    assert all(line["log_level"] == "warning" for line in lost)
    library = [r for r in caplog.records if r.name.startswith(("aio_pika", "aiormq"))]
    assert [f"{r.levelname} {r.name}: {r.msg}" for r in library] == []
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
    assert [context.get("message") for context in loop_errors] == []


class Tick(Event, topic="outage.tick"):
    n: int


@pytest.mark.rabbitmq
@pytest.mark.timeout(90)
async def test_handlers_cut_by_an_outage_leave_no_pending_task_or_callback_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: loop_errors.append(context))
    caplog.set_level(logging.WARNING)
    handled: set[int] = set()
    started = asyncio.Event()

    @consumer("outage.#", name="ticks", prefetch=20)
    async def on_tick(tick: Tick) -> None:
        started.set()
        await asyncio.sleep(0.05)  # the handler's own work: the outage cuts it off
        handled.add(tick.n)

    async with proxy() as broker:
        transport = AmqpTransport(broker.url, publish_timeout=10, watchdog_interval=0.2)
        bus = Bus(service=unique("outage"), exchange=unique("outage-ex"), transport=transport)
        ticks = bus.add_consumer(on_tick)
        try:
            async with bus:
                await ticks.start()
                await asyncio.gather(*(bus.publish(Tick(n=n)) for n in range(50)))
                await asyncio.wait_for(started.wait(), 10)
                await broker.cut()  # handlers are running, acks are on their way

                async def down() -> bool:
                    return await _status(transport) is HealthStatus.DOWN

                await wait_until(down, timeout=10, what="readiness down")
                await broker.restore()

                async def all_handled() -> bool:
                    return handled == set(range(50))

                await wait_until(all_handled, timeout=30, what="every message handled")
                await ticks.stop()
                await ticks.drain(5)
        finally:
            await delete_topology(bus.exchange, [ticks.name, ticks.queue.dead_letter_queue])
    gc.collect()
    await asyncio.sleep(0)

    library = [r for r in caplog.records if r.name.startswith(("aio_pika", "aiormq", "asyncio"))]
    assert [f"{r.levelname} {r.name}: {r.msg}" for r in library] == []
    assert [context.get("message") for context in loop_errors] == []
