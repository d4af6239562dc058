"""`MediaWorker`: media processing, notifications and analytics, as consumers.

Run it with ``svckit run examples.media_worker:MediaWorker``; on the embedded defaults
it needs no infrastructure, with ``MEDIA_BUS_URL``, ``MEDIA_CACHE_URL`` and
``MEDIA_STORAGE_URL`` it runs on RabbitMQ and Redis (or a shared directory for content).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from examples.media_worker.analytics import record, user_id_of
from examples.media_worker.imaging import InvalidImage, process_image
from examples.media_worker.messages import (
    FailureCode,
    MediaFailed,
    MediaProcessed,
    ProcessMedia,
    UserCreated,
    UserUpdated,
)
from examples.media_worker.notifications import (
    LogNotifier,
    WebhookNotifier,
    deliver_once,
    render,
)
from examples.media_worker.pool import ImagePool
from examples.media_worker.settings import MediaWorkerSettings
from examples.media_worker.storage import MediaStore
from svckit import RetryPolicy, get_logger
from svckit.cache import Cache
from svckit.messaging import Incoming  # noqa: TC001 - consumers' hints are read at run time
from svckit.worker import WorkerService, consumer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from examples.media_worker.notifications import Notifier
    from svckit.core.resource import Resource
    from svckit.http import HttpClient
    from svckit.messaging import Bus
    from svckit.storage import ContentStore

__all__ = ["MediaWorker"]

_log = get_logger(__name__)

#: Failures of the worker itself (the content store, the bus) are retried; bad content is
#: not.
PROCESS_RETRY = RetryPolicy(attempts=4, initial_delay=1.0, max_delay=60.0)
#: A webhook that is down gets a few minutes to come back.
NOTIFY_RETRY = RetryPolicy(attempts=5, initial_delay=1.0, max_delay=120.0)


class MediaWorker(WorkerService):
    """Processes images, notifies users and counts every message.

    Attributes:
        store: Originals, outputs and statuses in the content store (``storage``), which
            producers and readers share.
        counters: The cache namespace of the analytics counters.
        images: The pool Pillow runs in, off the event loop.
        notifier: Where notifications go.
    """

    settings: MediaWorkerSettings

    def __init__(
        self,
        settings: MediaWorkerSettings | None = None,
        *,
        bus: Bus | None = None,
        cache: Cache | None = None,
        storage: ContentStore | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        """Create the worker; ``notifier`` replaces the one the settings choose."""
        super().__init__(settings, bus=bus, cache=cache, storage=storage)
        s = self.settings
        # The service opens and closes its content store; the media store is a view of it.
        self.store = MediaStore(self.storage, prefix=s.storage_namespace, ttl=s.media_ttl)
        # One connection pool: the shared counters use the worker's cache backend.
        self.counters = Cache(self.cache.backend, namespace=s.analytics_namespace)
        self.images = ImagePool(s.image_workers, s.image_executor)
        self._webhook: HttpClient | None = None
        if notifier is None:
            if s.webhook_url is not None:
                webhook = WebhookNotifier.from_url(s.webhook_url, service_name=self.name)
                self._webhook = webhook.client
                notifier = webhook
            else:
                notifier = LogNotifier()
        self.notifier = notifier

    def resources(self) -> Sequence[Resource]:
        """The chassis's resources, the image pool, and the webhook client if there is one."""
        extra: list[Resource] = [self.images]
        if self._webhook is not None:
            extra.append(self._webhook)
        return [*super().resources(), *extra]

    # ------------------------------------------------------------------ media

    @consumer("media.process", retry=PROCESS_RETRY, idempotent=True, prefetch=16)
    async def process_media(self, command: ProcessMedia, incoming: Incoming) -> None:
        """Make the thumbnail, the compressed copy and the metadata of stored media.

        Content that can never be processed (missing, not an image, truncated, damaged,
        oversized) ends as failed: status, `MediaFailed` event, message acknowledged;
        retrying or dead-lettering it would change nothing. Other errors are retried,
        and the last attempt records the failure before the message is dead-lettered.
        """
        media_id = command.media_id
        await self.store.mark_processing(media_id)
        data = await self.store.original(media_id)
        if data is None:
            await self._failed(
                command,
                incoming,
                FailureCode.MISSING,
                "the original is not in storage (it was never stored, or it expired)",
            )
            return
        started = time.perf_counter()
        try:
            result = await self.images.run(process_image, data, self.settings.image_options)
        except InvalidImage as exc:
            await self._failed(command, incoming, exc.code, exc.reason)
            return
        except Exception as exc:
            if not PROCESS_RETRY.should_retry(exc, incoming.attempt):
                await self._failed(
                    command,
                    incoming,
                    FailureCode.INTERNAL,
                    f"processing failed after {incoming.attempt} attempt(s) ({type(exc).__name__})",
                )
            raise
        status = await self.store.save_outputs(
            media_id,
            thumbnail=result.thumbnail,
            compressed=result.compressed,
            metadata=result.metadata,
        )
        assert status.thumbnail_key is not None  # noqa: S101 - save_outputs sets both
        assert status.compressed_key is not None  # noqa: S101
        await self.publish(
            MediaProcessed(
                media_id=media_id,
                user_id=command.user_id,
                thumbnail_key=status.thumbnail_key,
                compressed_key=status.compressed_key,
                metadata=result.metadata,
                context=command.context,
            ),
            correlation_id=incoming.correlation_id,
        )
        _log.info(
            "media processed",
            media_id=media_id,
            size=f"{result.metadata.width}x{result.metadata.height}",
            original_bytes=len(data),
            compressed_bytes=len(result.compressed),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )

    async def _failed(
        self, command: ProcessMedia, incoming: Incoming, code: FailureCode, reason: str
    ) -> None:
        await self.store.mark_failed(command.media_id, code, reason)
        await self.publish(
            MediaFailed(
                media_id=command.media_id,
                user_id=command.user_id,
                code=code,
                reason=reason,
                context=command.context,
            ),
            correlation_id=incoming.correlation_id,
        )
        _log.warning("media failed", media_id=command.media_id, code=code.value, reason=reason)

    # ------------------------------------------------------------------ notifications

    @consumer("user.created", retry=NOTIFY_RETRY, idempotent=True)
    async def notify_user_created(self, event: UserCreated, incoming: Incoming) -> None:
        """Welcome a new user, at most once per message."""
        await deliver_once(self.cache, self.notifier, render(event), incoming)

    @consumer("user.updated", retry=NOTIFY_RETRY, idempotent=True)
    async def notify_user_updated(self, event: UserUpdated, incoming: Incoming) -> None:
        """Tell a user that the profile changed, at most once per message."""
        await deliver_once(self.cache, self.notifier, render(event), incoming)

    # ------------------------------------------------------------------ analytics

    @consumer("#", idempotent=True, prefetch=128)
    async def analytics(self, incoming: Incoming) -> None:
        """Count every message on the bus, per hour and per user."""
        await record(
            self.counters,
            incoming.topic,
            at=incoming.timestamp or datetime.now(UTC),
            user_id=user_id_of(incoming.body),
            hourly_ttl=self.settings.analytics_ttl,
        )
