"""Media by reference: originals, outputs and statuses in the shared content store.

Messages never carry media. A producer (the users API, the media bot) puts the original
in the content store and publishes a `ProcessMedia` command naming it; the worker reads
the original, puts its outputs beside it and keeps a status that any service can read::

    store = MediaStore.from_url("redis://localhost:6379/0")
    async with store:
        media_id = await submit(store, bus, photo_bytes, user_id=7)
        ...
        status = await store.status(media_id)   # queued, processing, done or failed

Keys in the content store, under the store's prefix (``media`` by default), all with the
store's TTL::

    media/original/<media_id>     the uploaded bytes
    media/thumbnail/<media_id>    JPEG thumbnail
    media/compressed/<media_id>   full-size compressed JPEG
    media/status/<media_id>       `MediaStatus` as JSON

The statuses live beside the content rather than in the cache: they are written and read
with it, by the same services, and must outlive a cache eviction as long as the content.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, ConfigDict

from examples.media_worker.messages import (
    MEDIA_ID_PATTERN,
    FailureCode,
    ImageMetadata,
    ProcessMedia,
)
from svckit.storage import ContentStore

if TYPE_CHECKING:
    from types import TracebackType

    from pydantic import SecretStr

    from svckit.core.health import Health
    from svckit.messaging import Bus

__all__ = ["DEFAULT_PREFIX", "MediaState", "MediaStatus", "MediaStore", "submit"]

#: The key prefix media lives under unless a service chooses another.
DEFAULT_PREFIX = "media"

_MEDIA_ID = re.compile(MEDIA_ID_PATTERN)
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


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


class MediaStore:
    """Media and statuses in a content store; a resource a service may open with its others.

    A service that already holds the content store (every svckit service does, as
    ``service.storage``) wraps it and leaves opening and closing to the service; a
    producer of its own makes one with `from_url` and opens it.

    Attributes:
        name: The resource's name in health reports.
        content: Where the bytes live.
        prefix: Put in front of every key.
        ttl: Seconds every stored item lives.
    """

    def __init__(
        self,
        content: ContentStore,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl: float = 24 * 3600,
        name: str = "media",
    ) -> None:
        """Keep media in ``content`` under ``prefix`` for ``ttl`` seconds."""
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        if not all(_SEGMENT.fullmatch(part) for part in prefix.split("/")):
            raise ValueError("a media prefix is letters, digits, '_', '.', '-', in '/' parts")
        self.content = content
        self.prefix = prefix
        self.ttl = ttl
        self.name = name

    @classmethod
    def from_url(
        cls,
        url: str | SecretStr,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl: float = 24 * 3600,
    ) -> MediaStore:
        """A store on the content store that ``url`` names (``memory://``, ``redis://``...)."""
        return cls(ContentStore.from_url(url), prefix=prefix, ttl=ttl)

    # ------------------------------------------------------------------ Resource

    async def __aenter__(self) -> Self:
        """Open the content store."""
        await self.content.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the content store."""
        await self.content.__aexit__(exc_type, exc, tb)

    async def health(self) -> Health:
        """The content store's health."""
        return await self.content.health()

    # ------------------------------------------------------------------ keys

    def original_key(self, media_id: str) -> str:
        """The key of the original."""
        return f"{self.prefix}/original/{_checked(media_id)}"

    def thumbnail_key(self, media_id: str) -> str:
        """The key of the thumbnail."""
        return f"{self.prefix}/thumbnail/{_checked(media_id)}"

    def compressed_key(self, media_id: str) -> str:
        """The key of the compressed copy."""
        return f"{self.prefix}/compressed/{_checked(media_id)}"

    def status_key(self, media_id: str) -> str:
        """The key of the status."""
        return f"{self.prefix}/status/{_checked(media_id)}"

    # ------------------------------------------------------------------ reading

    async def original(self, media_id: str) -> bytes | None:
        """The original's bytes, or None if it was never stored or has expired."""
        return await self.content.get(self.original_key(media_id))

    async def thumbnail(self, media_id: str) -> bytes | None:
        """The JPEG thumbnail, or None if there is none (yet)."""
        return await self.content.get(self.thumbnail_key(media_id))

    async def compressed(self, media_id: str) -> bytes | None:
        """The compressed JPEG copy, or None if there is none (yet)."""
        return await self.content.get(self.compressed_key(media_id))

    async def status(self, media_id: str) -> MediaStatus | None:
        """The media's status, or None if the store knows nothing of it."""
        raw = await self.content.get(self.status_key(media_id))
        return None if raw is None else MediaStatus.model_validate_json(raw)

    # ------------------------------------------------------------------ writing

    async def put_original(self, data: bytes, *, media_id: str | None = None) -> str:
        """Store an original and mark it queued; publish `ProcessMedia` next.

        Returns:
            The media id (a new one unless given).

        Raises:
            ContentTooLargeError: ``data`` is over the content store's ``max_size``.
        """
        media_id = media_id or uuid.uuid4().hex
        await self.content.put(self.original_key(media_id), data, ttl=self.ttl)
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
        await self.content.put(self.thumbnail_key(media_id), thumbnail, ttl=self.ttl)
        await self.content.put(self.compressed_key(media_id), compressed, ttl=self.ttl)
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
        await self.content.put(
            self.status_key(media_id), status.model_dump_json().encode(), ttl=self.ttl
        )
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
