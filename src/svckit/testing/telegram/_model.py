"""What the fake Telegram server holds: chats, files, updates and the messages bots sent."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ApiError", "Chat", "SentMessage", "StoredFile", "Updates"]

#: The largest file a bot may download through getFile (Telegram's limit: 20 MB).
DOWNLOAD_LIMIT = 20 * 1024 * 1024


class ApiError(Exception):
    """An answer the Bot API gives instead of a result: ``{"ok": false, ...}``."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        """An error with Telegram's ``error_code`` (``status``) and ``description``."""
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    @classmethod
    def bad_request(cls, what: str) -> ApiError:
        """A 400 worded as Telegram words them: ``Bad Request: <what>``."""
        return cls(400, f"Bad Request: {what}")

    def body(self) -> dict[str, Any]:
        """The JSON answer."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass
class Chat:
    """A chat the fake knows: a private chat with a user, or a group."""

    id: int
    type: Literal["private", "group", "supergroup"]
    title: str | None = None
    first_name: str | None = None
    username: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The Bot API's ``Chat`` object."""
        chat: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.title is not None:
            chat["title"] = self.title
        if self.first_name is not None:
            chat["first_name"] = self.first_name
        if self.username is not None:
            chat["username"] = self.username
        return chat


@dataclass
class StoredFile:
    """A file the fake holds: its bytes (or only a size it reports) and its path."""

    file_id: str
    file_unique_id: str
    size: int
    content: bytes | None
    path: str


@dataclass
class SentMessage:
    """A message a bot sent (or edited) into a chat, as the fake recorded it.

    Attributes:
        chat_id: The chat it went to.
        message_id: Its id in that chat.
        method: The Bot API method that sent it (``sendMessage``, ``sendPhoto``...).
        text: Its text (or caption), as the bot sent it, tags included.
        parse_mode: The parse mode it was sent with, if any.
        photo: The uploaded photo's bytes (``sendPhoto`` with an upload).
        document: The uploaded document's bytes (``sendDocument`` with an upload).
        file_name: The uploaded file's name.
        reply_markup: The keyboard, as the bot sent it.
        edits: The texts it was edited to, in order (``editMessageText``).
        sent_at: ``time.monotonic()`` when the fake took it.
    """

    chat_id: int
    message_id: int
    method: str
    text: str | None = None
    parse_mode: str | None = None
    photo: bytes | None = None
    document: bytes | None = None
    file_name: str | None = None
    reply_markup: Any = None
    edits: list[str] = field(default_factory=list)
    sent_at: float = field(default_factory=time.monotonic)

    @property
    def caption(self) -> str | None:
        """The caption of a photo or document (the same as `text`)."""
        return self.text


class Updates:
    """The updates waiting for a bot, handed out by getUpdates or to its webhook."""

    def __init__(self) -> None:
        """Start with none."""
        self.pending: list[dict[str, Any]] = []
        self._next_id = 1
        self._arrived = asyncio.Event()
        self._poller: asyncio.Future[None] | None = None
        self._closed = False

    def add(self, kind: str, payload: dict[str, Any]) -> int:
        """Queue an update of ``kind`` (``message``, ``callback_query``); return its id."""
        update_id = self._next_id
        self._next_id += 1
        self.pending.append({"update_id": update_id, kind: payload})
        self._arrived.set()
        return update_id

    def confirm(self, offset: int) -> None:
        """Forget the updates below ``offset`` (a negative one keeps the last ``-offset``)."""
        if offset < 0:
            self.pending = self.pending[offset:]
        else:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]

    def drop(self) -> None:
        """Forget every pending update (``drop_pending_updates``)."""
        self.pending.clear()

    async def poll(self, limit: int, timeout: float) -> list[dict[str, Any]]:
        """Wait up to ``timeout`` seconds for updates; a newer poll ends this one with 409."""
        if self._poller is not None and not self._poller.done():
            self._poller.set_exception(
                ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                ),
            )
        poller = self._poller = asyncio.get_running_loop().create_future()
        try:
            deadline = time.monotonic() + timeout
            while not self.pending and not self._closed:
                self._arrived.clear()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                arrived = asyncio.ensure_future(self._arrived.wait())
                try:
                    await asyncio.wait(
                        {arrived, poller}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    arrived.cancel()
                if poller.done():
                    poller.result()  # raises the 409
            return self.pending[:limit]
        finally:
            if self._poller is poller:
                self._poller = None
            if not poller.done():
                poller.cancel()
            elif not poller.cancelled():
                poller.exception()  # retrieved, so that asyncio does not report it

    def close(self) -> None:
        """End every poll at once (the server is stopping)."""
        self._closed = True
        self._arrived.set()

    def wake(self) -> None:
        """Wake a waiting poll (a webhook was set: it ends with 409 on its next look)."""
        self._arrived.set()
