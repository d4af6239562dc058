"""Fixtures for the messaging contract suite: one bus factory per transport."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from svckit.messaging import Bus
from svckit.messaging.amqp import AmqpTransport
from svckit.messaging.memory import MemoryTransport

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


async def eventually(
    condition: Callable[[], Awaitable[object]] | Callable[[], object],
    *,
    timeout: float = 10.0,
    message: str = "condition",
) -> None:
    """Poll ``condition`` until it holds, failing after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(0.02)


class Recorder:
    """Collects what handlers saw and lets a test wait for a count."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._changed = asyncio.Condition()

    async def add(self, item: Any) -> None:
        async with self._changed:
            self.items.append(item)
            self._changed.notify_all()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Any]:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.items) >= count)
        return self.items


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


BusFactory = "Callable[..., Bus]"


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("amqp", id="amqp", marks=pytest.mark.rabbitmq),
    ],
)
async def make_bus(request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., Bus]]:
    """Make buses on one transport, with names unique to the test; clean up after."""
    kind: str = request.param
    suffix = uuid.uuid4().hex[:10]
    service = f"t-{suffix}"
    exchange = f"t-ex-{suffix}"
    url = f"memory://{suffix}" if kind == "memory" else AMQP_URL
    buses: list[Bus] = []

    def factory(**options: Any) -> Bus:
        options.setdefault("service", service)
        options.setdefault("exchange", exchange)
        bus = Bus(url, **options)
        buses.append(bus)
        return bus

    factory.kind = kind  # type: ignore[attr-defined]
    yield factory
    if kind == "amqp":
        await _delete_amqp_topology(buses, exchange)


async def _delete_amqp_topology(buses: list[Bus], exchange: str) -> None:
    import aio_pika  # noqa: PLC0415 - only for the RabbitMQ side

    queues: set[str] = set()
    for bus in buses:
        transport = bus.transport
        assert isinstance(transport, AmqpTransport)
        for spec in transport._specs.values():
            queues.update({spec.name, spec.dead_letter_queue})
        queues.update(transport._declared_delays)
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        for name in sorted(queues):
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)
            with contextlib.suppress(Exception):
                await channel.close()
        channel = await connection.channel()
        with contextlib.suppress(Exception):
            await channel.exchange_delete(exchange)


def is_memory(bus: Bus) -> bool:
    return isinstance(bus.transport, MemoryTransport)
