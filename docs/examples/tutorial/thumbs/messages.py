"""The messages the thumbnails worker takes and publishes."""

from pydantic import PositiveInt
from svckit.messaging import Event


class ImageUploaded(Event, topic="image.uploaded"):
    """An image was stored; the storage service publishes this."""

    image_id: str
    width: PositiveInt
    height: PositiveInt


class ThumbnailReady(Event, topic="image.thumbnail_ready"):
    """A thumbnail of ``image_id`` is ready, ``width`` by ``height`` pixels."""

    image_id: str
    width: int
    height: int
