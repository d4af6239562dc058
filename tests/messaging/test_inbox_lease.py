"""An idempotent consumer renews its lease while the handler runs, for as long as it runs."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import pytest

from svckit.cache import Cache
from svckit.messaging import Bus, Event, KeyValueInbox, MemoryInbox, consumer
from svckit.messaging.memory import MemoryTransport
from tests.messaging.conftest import eventually

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from svckit.messaging import IdempotencyStore


class Slow(Event, topic="lease.slow"):
    n: int


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory-inbox"),
        pytest.param("redis", id="redis-cache", marks=pytest.mark.redis),
    ],
)
async def inbox(request: pytest.FixtureRequest) -> AsyncIterator[IdempotencyStore]:
    if request.param == "memory":
        yield MemoryInbox()
        return
    namespace = f"lease-test-{uuid.uuid4().hex[:8]}"
    async with Cache.from_url("redis://127.0.0.1:6379/0", namespace=namespace) as cache:
        yield KeyValueInbox(cache)
        await cache.clear()


async def test_a_handler_longer_than_its_lease_does_not_run_twice(
    inbox: IdempotencyStore,
) -> None:
    started: list[int] = []
    finish = asyncio.Event()

    @consumer(idempotent=True, idempotency_lease=0.3, prefetch=4)
    async def slow(event: Slow) -> None:
        started.append(event.n)
        await finish.wait()

    transport = MemoryTransport(f"memory://{uuid.uuid4().hex}")
    bus = Bus(service="lease", transport=transport, inbox=inbox)
    c = bus.add_consumer(slow)
    broker = transport.broker

    def busy_returns() -> int:
        return sum(".delay." in m.routing_key for m in broker.published)

    async with bus:
        await c.start()
        await bus.publish(Slow(n=1), message_id="same")
        await eventually(lambda: started == [1], message="the handler to start")
        await bus.publish(Slow(n=1), message_id="same")  # a duplicate, while it runs
        # The duplicate finds the id busy and waits in a delay queue (a second each
        # time); by its third return the 0.3 s lease would have run out many times over.
        await eventually(lambda: busy_returns() >= 3, message="three busy returns")
        assert started == [1]
        finish.set()
        await broker.wait_idle()
        await c.stop()
    assert started == [1]  # the duplicate came back, found the id done and was skipped


def test_the_lease_must_be_positive() -> None:
    with pytest.raises(ValueError, match="idempotency_lease"):
        consumer("x.y", idempotency_lease=0)
