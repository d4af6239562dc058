"""Test consumers with no RabbitMQ: the embedded broker, run with pytest.

Run it with ``pytest messaging_memory_broker_test.py`` (``asyncio_mode = "auto"``).
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import pytest

from svckit import Environment, RetryPolicy, Service, ServiceSettings
from svckit.messaging import (
    Bus,
    Command,
    Event,
    Headers,
    MemoryBroker,
    MemoryTransport,
    Reject,
    consumer,
)
from svckit.messaging.dead_letters import DeadLetters

if TYPE_CHECKING:
    from collections.abc import Sequence

    from svckit import Intake, Resource


# --8<-- [start:code]
class ResizeImage(Command, topic="media.resize"):
    key: str
    width: int


class ImageResized(Event, topic="media.resized"):
    key: str
    width: int


class Thumbnailer(Service):
    """Resizes images and announces each result."""

    def __init__(self, settings: ServiceSettings | None = None) -> None:
        super().__init__(settings)
        self.bus = Bus(self.settings.bus_url.get_secret_value(), service=self.name)
        self.bus.add_consumer(self.resize)
        self.widths: dict[str, int] = {}

    def resources(self) -> Sequence[Resource]:
        return [*super().resources(), self.bus]

    def intakes(self) -> Sequence[Intake]:
        return [*super().intakes(), *self.bus.consumers]

    @consumer(retry=RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.05))
    async def resize(self, command: ResizeImage) -> None:
        if command.width <= 0:
            raise Reject(f"width {command.width} is not positive")
        self.widths[command.key] = command.width
        await self.bus.publish(ImageResized(key=command.key, width=command.width))


# --8<-- [end:code]


# --8<-- [start:fixtures]
@pytest.fixture
def bus_url() -> str:
    # memory://<name> names one broker per process: a new name keeps each test apart.
    return f"memory://test-{uuid.uuid4().hex}"


@pytest.fixture
def settings(bus_url: str) -> ServiceSettings:
    return ServiceSettings(
        service_name="thumbnailer", environment=Environment.TEST, bus_url=bus_url
    )


def broker_of(bus: Bus) -> MemoryBroker:
    """The embedded broker behind ``bus``, where a test looks at what happened."""
    transport = bus.transport
    assert isinstance(transport, MemoryTransport)
    return transport.broker


# --8<-- [end:fixtures]


# --8<-- [start:service]
async def test_resizes_and_announces_the_result(settings: ServiceSettings) -> None:
    service = Thumbnailer(settings)
    async with service:  # opens the bus and starts the consumer, as run() does
        await service.bus.publish(ResizeImage(key="cat.png", width=128))
        broker = broker_of(service.bus)
        await broker.wait_idle()  # every message handled, every retry done

    assert service.widths == {"cat.png": 128}
    announced = [m for m in broker.published if m.routing_key == "media.resized"]
    assert [json.loads(m.body) for m in announced] == [{"key": "cat.png", "width": 128}]


# --8<-- [end:service]


# --8<-- [start:dead-letters]
async def test_a_bad_width_is_dead_lettered(settings: ServiceSettings) -> None:
    service = Thumbnailer(settings)
    async with service:
        message_id = await service.bus.publish(ResizeImage(key="cat.png", width=0))
        broker = broker_of(service.bus)
        await broker.wait_idle()

        # The raw messages in the dead-letter queue, headers and all...
        [raw] = broker.messages("thumbnailer.resize.dlq")
        assert raw.headers[Headers.ERROR_MESSAGE] == "width 0 is not positive"
        # ...or read through DeadLetters, the class behind `svckit dlq`.
        [letter] = await DeadLetters(service.bus.transport, "thumbnailer.resize").list()
        assert letter.message_id == message_id
        assert letter.error_type == "svckit.messaging.control.Reject"
        assert letter.attempt == 1  # rejected: never retried

    assert service.widths == {}
    assert not any(m.routing_key == "media.resized" for m in broker.published)


# --8<-- [end:dead-letters]


# --8<-- [start:bus]
async def test_a_consumer_function_on_a_bare_bus(bus_url: str) -> None:
    seen: list[ImageResized] = []

    @consumer()
    async def remember(event: ImageResized) -> None:
        seen.append(event)

    bus = Bus(bus_url, service="gallery")
    gallery = bus.add_consumer(remember)
    async with bus:
        await gallery.start()
        await bus.publish(ImageResized(key="cat.png", width=128))
        await broker_of(bus).wait_idle()
        await gallery.stop()  # the Service does this for you; a bare bus does not

    assert seen == [ImageResized(key="cat.png", width=128)]


# --8<-- [end:bus]
