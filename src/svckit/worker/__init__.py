"""The worker kind: a service whose work is its consumers, with a small health port.

::

    class Thumbnails(WorkerService):
        settings: ThumbnailSettings

        @consumer("media.uploaded", retry=RetryPolicy(attempts=5))
        async def make_thumbnail(self, event: MediaUploaded) -> None:
            ...
            await self.publish(ThumbnailReady(...))

``pip install "svckit[worker]"`` installs what it needs against RabbitMQ; on the embedded
defaults it needs nothing more than svckit itself.
"""

from svckit.messaging import ConsumerRouter, consumer
from svckit.worker.service import WorkerService, WorkerSettings

__all__ = ["ConsumerRouter", "WorkerService", "WorkerSettings", "consumer"]
