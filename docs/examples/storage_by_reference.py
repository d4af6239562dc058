"""Pass content by reference: the upload goes to the content store, the message names it.

Run it as is (``python docs/examples/storage_by_reference.py``); the producer and the
worker share the embedded broker and the in-memory content store of this process.
"""

from __future__ import annotations

import asyncio

from svckit import configure_logging
from svckit.messaging import Command, Event, MemoryTransport
from svckit.storage import ContentStore  # noqa: TC001 - a consumer's hints are read at run time
from svckit.worker import WorkerService, WorkerSettings, consumer


# --8<-- [start:messages]
class MakeThumbnail(Command, topic="image.thumbnail"):
    """Asks for a thumbnail of the image stored under ``key``."""

    key: str  # a key in the content store, never the bytes


class ThumbnailReady(Event, topic="image.thumbnail_ready"):
    """The thumbnail of ``source`` is stored under ``key``."""

    source: str
    key: str


# --8<-- [end:messages]


# --8<-- [start:worker]
class Thumbnails(WorkerService):
    """Reads each image from the content store and writes its thumbnail beside it."""

    @consumer("image.thumbnail")
    async def make_thumbnail(self, command: MakeThumbnail, *, storage: ContentStore) -> None:
        image = await storage.get(command.key)
        if image is None:
            return  # expired or deleted before we got to it: nothing to do
        thumbnail = image[:16]  # stands for real image work
        key = f"{command.key}/thumbnail"
        await storage.put(key, thumbnail, ttl=24 * 3600)  # write the output first...
        await self.publish(ThumbnailReady(source=command.key, key=key))  # ...then say so


# --8<-- [end:worker]


async def main() -> None:
    settings = WorkerSettings(service_name="thumbnails", health_port=None, log_level="ERROR")
    configure_logging(settings)
    worker = Thumbnails(settings)
    async with worker:
        # --8<-- [start:producer]
        # In the API or the bot: store the upload, then publish its key.
        upload = bytes(range(256)) * 64  # 16 KiB of "image"
        key = "uploads/42/photo"
        await worker.storage.put(key, upload, ttl=3600)
        await worker.publish(MakeThumbnail(key=key))
        # --8<-- [end:producer]
        transport = worker.bus.transport
        assert isinstance(transport, MemoryTransport)
        await transport.broker.wait_idle(timeout=10)
        assert await worker.storage.get("uploads/42/photo/thumbnail") == upload[:16]
    print("thumbnail stored beside the upload: ok")


if __name__ == "__main__":
    asyncio.run(main())
