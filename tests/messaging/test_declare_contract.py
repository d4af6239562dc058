"""Declaring a queue again: the same arguments are fine, other ones are refused, on both.

RabbitMQ cannot change a queue's arguments in place and answers PRECONDITION_FAILED;
the embedded broker used to keep the first declaration silently, so a setting changed
in code seemed to apply in tests and failed at deployment.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from svckit import ConfigurationError
from svckit.messaging import consumer
from svckit.messaging.memory import MemoryBroker
from svckit.messaging.transport import QueueType

if TYPE_CHECKING:
    from collections.abc import Callable

    from svckit.messaging import Bus
    from svckit.messaging.transport import QueueSpec


@consumer("jobs.#", name="jobs")
async def jobs(body: bytes) -> None:
    del body


async def _declared(bus: Bus) -> QueueSpec:
    spec = bus.add_consumer(jobs).queue
    await bus.transport.declare_exchange(spec.exchange)
    await bus.transport.declare_queue(spec)
    return spec


async def test_the_same_declaration_twice_is_fine(make_bus: Callable[..., Bus]) -> None:
    bus = make_bus()
    async with bus:
        spec = await _declared(bus)
        await bus.transport.declare_queue(spec)
        assert await bus.transport.message_count(spec.name) == 0


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"queue_type": QueueType.CLASSIC}, id="queue-type"),
        pytest.param({"delivery_limit": 5}, id="delivery-limit"),
    ],
)
async def test_other_arguments_are_refused(
    make_bus: Callable[..., Bus], change: dict[str, object]
) -> None:
    bus = make_bus()
    async with bus:
        spec = await _declared(bus)
        with pytest.raises(ConfigurationError, match=spec.name):
            await bus.transport.declare_queue(replace(spec, **change))  # type: ignore[arg-type]
    # The queue keeps its first declaration (on a connection of its own: RabbitMQ closes
    # the channel that was refused).
    again = make_bus()
    async with again:
        await again.transport.declare_queue(spec)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"queue_type": QueueType.CLASSIC}, id="queue-type"),
        pytest.param({"dead_letter": "elsewhere"}, id="dead-letter"),
        pytest.param({"ttl_ms": 500}, id="ttl"),
        pytest.param({"delivery_limit": 3}, id="delivery-limit"),
    ],
)
def test_the_embedded_broker_compares_every_argument(change: dict[str, object]) -> None:
    broker = MemoryBroker()
    first: dict[str, object] = {"dead_letter": "q.dlq", "ttl_ms": 1000, "delivery_limit": 20}
    broker.declare_queue("q", **first)  # type: ignore[arg-type]
    broker.declare_queue("q", **first)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="'q' already exists with other arguments"):
        broker.declare_queue("q", **{**first, **change})  # type: ignore[arg-type]
