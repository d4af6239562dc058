"""The thumbnails worker: its settings and its one consumer."""

# --8<-- [start:imports]
from pydantic import Field
from pydantic_settings import SettingsConfigDict
from svckit import RetryPolicy, get_logger
from svckit.messaging import Reject
from svckit.worker import WorkerService, WorkerSettings, consumer

from thumbs.messages import ImageUploaded, ThumbnailReady

log = get_logger(__name__)
# --8<-- [end:imports]


# --8<-- [start:settings]
class ThumbnailSettings(WorkerSettings):
    """Read from THUMBS_* environment variables and the .env file."""

    model_config = SettingsConfigDict(env_prefix="THUMBS_")

    service_name: str = "thumbs"
    thumbnail_size: int = Field(default=256, gt=0)
    max_pixels: int = Field(default=50_000_000, gt=0)


# --8<-- [end:settings]


# --8<-- [start:service]
class Thumbnails(WorkerService):
    """Answers every uploaded image with a thumbnail."""

    settings: ThumbnailSettings

    @consumer(retry=RetryPolicy(attempts=5))
    async def make_thumbnail(self, image: ImageUploaded) -> None:
        """Fit the image into a square of ``thumbnail_size`` pixels."""
        if image.width * image.height > self.settings.max_pixels:
            raise Reject(f"{image.width}x{image.height} is over {self.settings.max_pixels} pixels")
        width, height = fit(image.width, image.height, self.settings.thumbnail_size)
        await self.publish(ThumbnailReady(image_id=image.image_id, width=width, height=height))
        log.info("thumbnail ready", image_id=image.image_id, width=width, height=height)


def fit(width: int, height: int, box: int) -> tuple[int, int]:
    """Scale ``width`` x ``height`` down (never up) to fit a ``box`` x ``box`` square."""
    scale = min(1.0, box / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


# --8<-- [end:service]
