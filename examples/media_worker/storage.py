"""Media by reference: originals, outputs and statuses in a shared cache namespace.

Messages never carry media. A producer (the users API, the media bot) stores the original
and publishes a `ProcessMedia` command naming it; the worker reads the original, stores
its outputs next to it and keeps a status that any service can read::

    store = MediaStore.from_url("redis://localhost:6379/0")
    async with store:
        media_id = await submit(store, bus, photo_bytes, user_id=7)
        ...
        status = await store.status(media_id)   # queued, processing, done or failed

Keys, inside the store's namespace (``media`` by default), all with the store's TTL::

    original:<media_id>     the uploaded bytes
    thumbnail:<media_id>    JPEG thumbnail
    compressed:<media_id>   full-size compressed JPEG
    status:<media_id>       `MediaStatus` as JSON
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from examples.media_worker.cached import CacheResource
from examples.media_worker.messages import (
    MEDIA_ID_PATTERN,
    FailureCode,
    ImageMetadata,
    ProcessMedia,
)
from svckit.cache import Cache

if TYPE_CHECKING:
    from pydantic import SecretStr

    from svckit.messaging import Bus

__all__ = ["DEFAULT_NAMESPACE", "MediaState", "MediaStatus", "MediaStore", "submit"]

#: The cache namespace media lives in unless a service chooses another.
DEFAULT_NAMESPACE = "media"

_MEDIA_ID = re.compile(MEDIA_ID_PATTERN)


class MediaState(StrEnum):
    """Where a media item is: queued, then processing, then done or failed."""

    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class MediaStatus(BaseModel):
    """What other services read about a media item.

    Attributes:
        media_id: The media's id.
        state: Queued, processing, done or failed.
        updated_at: When the state was last written (UTC).
        code: Why it failed, for programs (failed only).
        reason: Why it failed, for people (failed only).
        thumbnail_key: Storage key of the thumbnail (done only).
        compressed_key: Storage key of the compressed copy (done only).
        metadata: What the worker learnt about the image (done only).
    """

    model_config = ConfigDict(frozen=True)

    media_id: str
    state: MediaState
    updated_at: datetime
    code: FailureCode | None = None
    reason: str | None = None
    thumbnail_key: str | None = None
    compressed_key: str | None = None
    metadata: ImageMetadata | None = None


class MediaStore(CacheResource):
    """Media and statuses in a cache; a resource a service opens with its others.

    Attributes:
        name: The resource's name in health reports.
        cache: Where the bytes live.
        ttl: Seconds every stored item lives.
    """

    def __init__(self, cache: Cache, *, ttl: float = 24 * 3600, name: str = "media") -> None:
        """Keep media in ``cache`` for ``ttl`` seconds."""
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        super().__init__(cache, name=name)
        self.ttl = ttl

    @classmethod
    def from_url(
        cls,
        url: str | SecretStr,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        ttl: float = 24 * 3600,
    ) -> MediaStore:
        """A store on the cache that ``url`` names (``memory://`` or ``redis://...``)."""
        return cls(Cache.from_url(url, namespace=namespace), ttl=ttl)

    # ------------------------------------------------------------------ keys

    @staticmethod
    def original_key(media_id: str) -> str:
        """The key of the original."""
        return f"original:{_checked(media_id)}"

    @staticmethod
    def thumbnail_key(media_id: str) -> str:
        """The key of the thumbnail."""
        return f"thumbnail:{_checked(media_id)}"

    @staticmethod
    def compressed_key(media_id: str) -> str:
        """The key of the compressed copy."""
        return f"compressed:{_checked(media_id)}"

    @staticmethod
    def status_key(media_id: str) -> str:
        """The key of the status."""
        return f"status:{_checked(media_id)}"

    # ------------------------------------------------------------------ reading

    async def original(self, media_id: str) -> bytes | None:
        """The original's bytes, or None if it was never stored or has expired."""
        return await self.cache.get(self.original_key(media_id), bytes)

    async def thumbnail(self, media_id: str) -> bytes | None:
        """The JPEG thumbnail, or None if there is none (yet)."""
        return await self.cache.get(self.thumbnail_key(media_id), bytes)

    async def compressed(self, media_id: str) -> bytes | None:
        """The compressed JPEG copy, or None if there is none (yet)."""
        return await self.cache.get(self.compressed_key(media_id), bytes)

    async def status(self, media_id: str) -> MediaStatus | None:
        """The media's status, or None if the store knows nothing of it."""
        return await self.cache.get(self.status_key(media_id), MediaStatus)

    # ------------------------------------------------------------------ writing

    async def put_original(self, data: bytes, *, media_id: str | None = None) -> str:
        """Store an original and mark it queued; publish `ProcessMedia` next.

        Returns:
            The media id (a new one unless given).
        """
        media_id = media_id or uuid.uuid4().hex
        await self.cache.set(self.original_key(media_id), data, ttl=self.ttl)
        await self._set_status(media_id, MediaState.QUEUED)
        return media_id

    async def mark_processing(self, media_id: str) -> MediaStatus:
        """Record that a worker has started on the media."""
        return await self._set_status(media_id, MediaState.PROCESSING)

    async def save_outputs(
        self,
        media_id: str,
        *,
        thumbnail: bytes,
        compressed: bytes,
        metadata: ImageMetadata,
    ) -> MediaStatus:
        """Store the outputs, then mark the media done (so done means readable)."""
        await self.cache.set(self.thumbnail_key(media_id), thumbnail, ttl=self.ttl)
        await self.cache.set(self.compressed_key(media_id), compressed, ttl=self.ttl)
        return await self._set_status(
            media_id,
            MediaState.DONE,
            thumbnail_key=self.thumbnail_key(media_id),
            compressed_key=self.compressed_key(media_id),
            metadata=metadata,
        )

    async def mark_failed(self, media_id: str, code: FailureCode, reason: str) -> MediaStatus:
        """Record that the media cannot be processed, and why."""
        return await self._set_status(media_id, MediaState.FAILED, code=code, reason=reason)

    async def _set_status(self, media_id: str, state: MediaState, **fields: Any) -> MediaStatus:
        status = MediaStatus(media_id=media_id, state=state, updated_at=datetime.now(UTC), **fields)
        await self.cache.set(self.status_key(media_id), status, ttl=self.ttl)
        return status


async def submit(
    store: MediaStore,
    bus: Bus,
    data: bytes,
    *,
    user_id: int | None = None,
    filename: str | None = None,
    context: dict[str, str] | None = None,
) -> str:
    """Store ``data`` as an original and ask the media worker to process it.

    If the publish fails, the original stays (until its TTL) with the status queued, and
    the error is raised: the caller may submit again.

    Returns:
        The media id, to read the status and outputs by.
    """
    media_id = await store.put_original(data)
    await bus.publish(
        ProcessMedia(media_id=media_id, user_id=user_id, filename=filename, context=context or {}),
    )
    return media_id


def _checked(media_id: str) -> str:
    if not _MEDIA_ID.fullmatch(media_id):
        raise ValueError("a media id is 1 to 128 letters, digits, '_' or '-'")
    return media_id
