"""What the media bot says: every text a user reads, escaped for Telegram's HTML mode."""

from __future__ import annotations

import html

from examples.media_worker.messages import FailureCode
from examples.media_worker.storage import MediaState

__all__ = [
    "HELP",
    "failure",
    "greeting",
    "received",
    "split_lines",
    "thumbnail_caption",
    "upload_line",
]

#: Telegram's limit on one message's text.
MESSAGE_LIMIT = 4096

HELP = (
    "Send me a photo or an image file and I will make a thumbnail of it.\n"
    "\n"
    "/start - say hello\n"
    "/help - this list\n"
    "/files - your uploads and where they are"
)

TOO_LARGE = "That file is over 20 MB, the most a bot may download. Send a smaller one."
NOT_AN_IMAGE = "That file is not an image. Send a photo, or a JPEG, PNG, GIF or WebP file."
UNAVAILABLE = "I could not take that file just now. Please send it again in a minute."
NO_UPLOADS = "You have not sent me anything yet."

_FAILURES = {
    FailureCode.MISSING: "Your image expired before I could process it. Please send it again.",
    FailureCode.NOT_AN_IMAGE: "That file is not an image I can read.",
    FailureCode.TRUNCATED: "That image looks cut off. Please send it again.",
    FailureCode.CORRUPT: "That image is damaged, so I could not read it.",
    FailureCode.OVERSIZED: "That image has too many pixels for me to process.",
    FailureCode.INTERNAL: "Something went wrong on my side. Please try again later.",
}
_STATES = {
    MediaState.QUEUED: "waiting",
    MediaState.PROCESSING: "processing",
    MediaState.DONE: "done",
    MediaState.FAILED: "failed",
}


def greeting(first_name: str) -> str:
    """/start's answer, the user's name escaped."""
    return f"Hello, <b>{html.escape(first_name)}</b>! Send me a photo. /help lists what I do."


def received(media_id: str) -> str:
    """The reply to an upload: its id."""
    return f"Got it. Upload <code>{media_id}</code> is on its way to processing."


def thumbnail_caption(filename: str | None, width: int, height: int) -> str:
    """The thumbnail's caption."""
    name = html.escape(filename or "your photo")
    return f"Thumbnail of {name} ({width}x{height})"


def failure(code: FailureCode) -> str:
    """Why an upload failed, in the user's words (never the worker's error text)."""
    return _FAILURES.get(code, _FAILURES[FailureCode.INTERNAL])


def upload_line(number: int, filename: str | None, state: MediaState | None) -> str:
    """One line of /files."""
    shown = _STATES.get(state, "expired") if state is not None else "expired"
    return f"{number}. {html.escape(filename or 'photo')}: {shown}"


def split_lines(lines: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join ``lines`` into messages under ``limit`` characters, breaking between lines.

    A line longer than the limit alone (it cannot be, with escaped names of at most 255
    characters) is cut.
    """
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for raw in lines:
        line = raw[:limit]
        extra = len(line) + (1 if current else 0)
        if current and size + extra > limit:
            messages.append("\n".join(current))
            current, size = [], 0
            extra = len(line)
        current.append(line)
        size += extra
    if current:
        messages.append("\n".join(current))
    return messages
