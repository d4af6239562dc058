"""Publish an ImageUploaded event, as the service that stores images would.

Run it as ``python -m thumbs.upload IMAGE_ID WIDTH HEIGHT``.
"""

import asyncio
import sys

from svckit.messaging import Bus

from thumbs.messages import ImageUploaded
from thumbs.service import ThumbnailSettings


async def upload(image_id: str, width: int, height: int) -> None:
    """Publish one ImageUploaded event on the bus that THUMBS_BUS_URL names."""
    url = ThumbnailSettings().bus_url.get_secret_value()
    if url.startswith("memory://"):
        sys.exit("set THUMBS_BUS_URL to RabbitMQ: the embedded broker lives inside one process")
    async with Bus(url, service="uploader") as bus:
        event = ImageUploaded(image_id=image_id, width=width, height=height)
        message_id = await bus.publish(event)
    print(f"published {event.topic} {image_id} (message id {message_id})")


if __name__ == "__main__":
    image_id, width, height = sys.argv[1:]
    asyncio.run(upload(image_id, int(width), int(height)))
