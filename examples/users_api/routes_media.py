"""Image uploads by reference: stored in the content store, processed by the media worker.

The upload's size is limited while it is read (the router's ``max_body_size``, from
the settings: 413 past it), its type is sniffed from its first bytes (the header the
client sent is not trusted), the original goes to the content store and a
``media.process`` command naming it goes through the outbox with the media's row. The
answer is 202 with the URL of its status.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, UploadFile

from examples.media_worker.analytics import hour_key, user_key
from examples.media_worker.messages import MEDIA_ID_PATTERN, ProcessMedia
from examples.media_worker.storage import MediaStatus
from examples.users_api.deps import App, CurrentUser
from examples.users_api.models import Media
from examples.users_api.schemas import MediaAccepted, Stats
from svckit.api import Problem

__all__ = ["router", "sniff"]

router = APIRouter(tags=["media"], responses={401: {"description": "Not authenticated"}})
MediaId = Annotated[str, Path(pattern=MEDIA_ID_PATTERN)]
_MISSING: dict[int | str, dict[str, Any]] = {404: {"description": "No such media of yours"}}
_JPEG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}}, "description": "The JPEG"}
}

#: Signatures of the image formats the media worker reads.
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff(head: bytes) -> str | None:
    """The image type the bytes start with, or None."""
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


@router.post(
    "/media",
    status_code=202,
    responses={413: {"description": "Too large"}, 415: {"description": "Not an image"}},
)
async def upload(
    file: UploadFile, user: CurrentUser, app: App, response: Response
) -> MediaAccepted:
    """Upload an image; the media worker makes its thumbnail and compressed copy."""
    limit = app.settings.upload_max_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise Problem(413, detail=f"an image is at most {limit} bytes")
    content_type = sniff(data[:16])
    if content_type is None:
        raise Problem(415, detail="the file is not a JPEG, PNG, GIF or WebP image")
    media_id = await app.media.put_original(data)
    async with app.db.transaction() as session:
        session.add(Media(id=media_id, user_id=user.id, content_type=content_type, size=len(data)))
        await app.outbox.publish(
            ProcessMedia(media_id=media_id, user_id=user.id, filename=_filename(file.filename)),
            session=session,
            key=f"media:{media_id}",
        )
    status_url = f"/media/{media_id}"
    response.headers["Location"] = status_url
    return MediaAccepted(media_id=media_id, status_url=status_url)


def _filename(name: str | None) -> str | None:
    if not name:
        return None
    return "".join(c for c in name if c.isprintable())[:255] or None


async def _owned(app: App, user_id: int, media_id: str) -> None:
    async with app.db.transaction() as session:
        media = await session.get(Media, media_id)
    if media is None or media.user_id != user_id:
        raise Problem(404, detail="no such media of yours")


@router.get("/media/{media_id}", responses=_MISSING)
async def media_status(media_id: MediaId, user: CurrentUser, app: App) -> MediaStatus:
    """Where the media worker is with an upload: queued, processing, done or failed."""
    await _owned(app, user.id, media_id)
    status = await app.media.status(media_id)
    if status is None:
        raise Problem(404, detail="no such media of yours")
    return status


@router.get(
    "/media/{media_id}/{output}",
    responses={**_MISSING, **_JPEG},
    response_class=Response,
)
async def download(
    media_id: MediaId,
    output: Annotated[str, Path(pattern="^(thumbnail|compressed)$")],
    user: CurrentUser,
    app: App,
) -> Response:
    """The thumbnail or the compressed copy of one's own upload, once done."""
    await _owned(app, user.id, media_id)
    read = app.media.thumbnail if output == "thumbnail" else app.media.compressed
    data = await read(media_id)
    if data is None:
        raise Problem(404, detail=f"no {output} yet")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private"})


@router.get("/stats")
async def stats(user: CurrentUser, app: App) -> Stats:
    """The media worker's counters: this hour's messages by topic, and the caller's."""
    now = datetime.now(UTC)
    return Stats(
        this_hour=await app.counters.hgetall(hour_key(now)),
        mine=await app.counters.hgetall(user_key(user.id)),
    )
