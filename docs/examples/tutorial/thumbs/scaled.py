"""The thumbnails worker, tuned to run as many processes on the same queue."""

from svckit import RetryPolicy
from svckit.worker import consumer

from thumbs.messages import ImageUploaded
from thumbs.service import Thumbnails


# --8<-- [start:options]
class ScaledThumbnails(Thumbnails):
    """The same worker and queue; only the consumer's options differ."""

    @consumer(
        retry=RetryPolicy(attempts=5),
        idempotent=True,  # skip message ids that any process already handled
        prefetch=16,  # unacknowledged messages RabbitMQ hands this process at once
        concurrency=8,  # handlers running at once in this process
    )
    async def make_thumbnail(self, image: ImageUploaded) -> None:
        """Make the thumbnail as before."""
        await super().make_thumbnail(image)


# --8<-- [end:options]
