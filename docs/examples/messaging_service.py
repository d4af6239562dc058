"""A service with a bus and a consumer, and what its graceful shutdown does to messages.

Run it as is (``python docs/examples/messaging_service.py``); it uses the embedded broker.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from svckit import DrainReport, Service, ServiceSettings
from svckit.messaging import Bus, Command, MemoryTransport, consumer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from svckit import Intake, Resource


class Resize(Command, topic="media.resize"):
    key: str
    seconds: float  # how long the work takes, for the example


# --8<-- [start:service]
class MediaWorker(Service):
    """Resizes images, two at a time."""

    def __init__(self, settings: ServiceSettings | None = None) -> None:
        super().__init__(settings)
        # memory:// unless SVCKIT_BUS_URL says amqp://user:password@host/vhost
        self.bus = Bus(self.settings.bus_url.get_secret_value(), service=self.name)
        self.bus.add_consumer(self.resize)
        self.started = asyncio.Semaphore(0)
        self.resized: list[str] = []

    def resources(self) -> Sequence[Resource]:
        return [*super().resources(), self.bus]  # opened first, closed last

    def intakes(self) -> Sequence[Intake]:
        return [*super().intakes(), *self.bus.consumers]  # started after the resources

    @consumer(prefetch=8, concurrency=2)
    async def resize(self, command: Resize) -> None:
        self.started.release()
        await asyncio.sleep(command.seconds)  # stands for real work
        self.resized.append(command.key)


# --8<-- [end:service]


async def main(bus_url: str = "memory://") -> None:
    # --8<-- [start:shutdown]
    settings = ServiceSettings(service_name="media", bus_url=bus_url, shutdown_timeout=0.5)
    worker = MediaWorker(settings)
    async with worker:
        await worker.bus.publish(Resize(key="small.png", seconds=0.05))  # ends in time
        await worker.bus.publish(Resize(key="huge.png", seconds=3600))  # does not
        for _ in range(2):
            await worker.started.acquire()  # both handlers are running now
        report = await worker.shutdown()  # what leaving the block, or SIGTERM, does

    assert report == DrainReport(drained=1, cut_off=1)
    assert worker.resized == ["small.png"]
    # The cut-off message went back to its queue, unharmed: the next worker gets it.
    transport = worker.bus.transport
    assert isinstance(transport, MemoryTransport)
    [waiting] = transport.broker.messages("media.resize")
    assert json.loads(waiting.body) == {"key": "huge.png", "seconds": 3600}
    assert transport.broker.messages("media.resize.dlq") == []
    # --8<-- [end:shutdown]
    print(f"{report}; back in the queue: {waiting.body.decode()}")


if __name__ == "__main__":
    asyncio.run(main())
