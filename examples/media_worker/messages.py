"""The messages the media worker takes and publishes, shared with the other examples.

Commands ask the worker for work; events say what happened::

    ProcessMedia      media.process     "make a thumbnail, a compressed copy and metadata"
    MediaProcessed    media.processed   the outputs are stored; their keys are in the event
    MediaFailed       media.failed      the media cannot be processed, and why
    UserCreated       user.created      published by the users API
    UserUpdated       user.updated      published by the users API

Media never travels in a message: the command names stored content by its id (see
`examples.media_worker.storage.MediaStore`), and the events name the stored outputs.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from svckit.messaging import Command, Event

__all__ = [
    "ExifSummary",
    "FailureCode",
    "ImageMetadata",
    "MediaFailed",
    "MediaProcessed",
    "ProcessMedia",
    "UserCreated",
    "UserUpdated",
]

#: What a media id may contain: it becomes part of cache keys.
MEDIA_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"


class FailureCode(StrEnum):
    """Why media processing failed, for programs (the reason text is for people)."""

    MISSING = "missing"
    """The original is not in storage (never stored, or expired)."""
    NOT_AN_IMAGE = "not_an_image"
    """The content is not an image in a supported format."""
    TRUNCATED = "truncated"
    """The image data ends early (an interrupted upload)."""
    CORRUPT = "corrupt"
    """The image data is damaged in another way."""
    OVERSIZED = "oversized"
    """The image has more pixels than the worker accepts (a decompression bomb guard)."""
    INTERNAL = "internal"
    """The worker failed for its own reasons, after every retry."""


class ExifSummary(BaseModel):
    """The few EXIF fields worth showing; location data is deliberately left out.

    Attributes:
        make: The camera maker.
        model: The camera model.
        taken_at: When the picture was taken, as the camera wrote it
            (``YYYY:MM:DD HH:MM:SS``, no time zone).
        software: The software that last wrote the file.
        orientation: The EXIF orientation (1 to 8) of the original; 1 when absent.
    """

    model_config = ConfigDict(frozen=True)

    make: str | None = None
    model: str | None = None
    taken_at: str | None = None
    software: str | None = None
    orientation: int = Field(default=1, ge=1, le=8)


class ImageMetadata(BaseModel):
    """What the worker learnt about an image.

    Attributes:
        format: Pillow's name of the format, such as ``JPEG`` or ``PNG``.
        width: Width in pixels as displayed (EXIF orientation applied).
        height: Height in pixels as displayed.
        mode: Pillow's pixel mode of the original, such as ``RGB`` or ``RGBA``.
        size_bytes: Size of the original file.
        exif: The EXIF summary.
    """

    model_config = ConfigDict(frozen=True)

    format: str
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    mode: str
    size_bytes: int = Field(ge=0)
    exif: ExifSummary = ExifSummary()


class ProcessMedia(Command, topic="media.process"):
    """Process stored media: thumbnail, compressed copy and metadata.

    Store the original first (`MediaStore.put_original`), then publish this command.

    Attributes:
        media_id: The id the original is stored under.
        user_id: Whose media it is, if a user uploaded it.
        filename: The name it was uploaded with, for display only.
        context: Opaque values echoed unchanged in the outcome event, so that the
            requester can route it (the media bot puts the chat id here).
    """

    media_id: str = Field(pattern=MEDIA_ID_PATTERN)
    user_id: int | None = None
    filename: str | None = Field(default=None, max_length=255)
    context: dict[str, str] = Field(default_factory=dict)


class MediaProcessed(Event, topic="media.processed"):
    """Media was processed; the outputs are stored under the keys given here.

    Attributes:
        media_id: The media's id.
        user_id: Whose media it is.
        thumbnail_key: Storage key of the JPEG thumbnail.
        compressed_key: Storage key of the compressed JPEG copy.
        metadata: What the worker learnt about the image.
        context: The command's context, unchanged.
    """

    media_id: str
    user_id: int | None = None
    thumbnail_key: str
    compressed_key: str
    metadata: ImageMetadata
    context: dict[str, str] = Field(default_factory=dict)


class MediaFailed(Event, topic="media.failed"):
    """Media could not be processed; it will not be tried again.

    Attributes:
        media_id: The media's id.
        user_id: Whose media it is.
        code: Why, for programs.
        reason: Why, for people (never the image's content).
        context: The command's context, unchanged.
    """

    media_id: str
    user_id: int | None = None
    code: FailureCode
    reason: str
    context: dict[str, str] = Field(default_factory=dict)


class UserCreated(Event, topic="user.created"):
    """A user registered.

    Attributes:
        user_id: The new user's id.
        email: Where the user can be reached.
        name: The name the user gave, if any.
    """

    user_id: int
    email: str = Field(max_length=320)
    name: str | None = None


class UserUpdated(Event, topic="user.updated"):
    """A user's profile changed.

    Attributes:
        user_id: The user's id.
        email: Where the user can be reached now.
        changed: The names of the fields that changed (never their values).
    """

    user_id: int
    email: str = Field(max_length=320)
    changed: tuple[str, ...] = ()
