"""Users of the fake Telegram server: they send text, commands, photos and documents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from svckit.testing.telegram._methods import now

if TYPE_CHECKING:
    from svckit.testing.telegram._fake import FakeTelegram
    from svckit.testing.telegram._model import SentMessage

__all__ = ["FakeGroup", "FakeUser"]


class FakeGroup:
    """A group chat with the bot; users send into it with ``chat=group``."""

    def __init__(self, fake: FakeTelegram, *, chat_id: int, title: str) -> None:
        """A group known to ``fake``."""
        self._fake = fake
        self.id = chat_id
        self.title = title

    def sent(self) -> list[SentMessage]:
        """What the bot sent into the group, in order."""
        return self._fake.sent(self.id)

    async def replies(self, count: int = 1, *, timeout: float = 10.0) -> list[SentMessage]:
        """Wait until the bot has sent ``count`` messages into the group; return them all."""
        return await self._fake.wait_for(self.id, count, timeout=timeout)


class FakeUser:
    """A Telegram user talking to the bot, in their private chat or in a group.

    Every ``send_*`` queues an update for the bot and returns its update id. `replies`
    waits for what the bot sent into the user's private chat.

    Attributes:
        id: The user's id (also their private chat's id).
        first_name: Their first name, as the bot sees it.
        username: Their username, if any.
    """

    def __init__(
        self,
        fake: FakeTelegram,
        *,
        user_id: int,
        first_name: str,
        username: str | None,
        language_code: str | None,
    ) -> None:
        """A user known to ``fake``."""
        self._fake = fake
        self.id = user_id
        self.first_name = first_name
        self.username = username
        self.language_code = language_code
        self._message_ids = 0

    def as_json(self) -> dict[str, Any]:
        """The Bot API's ``User`` object."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username is not None:
            user["username"] = self.username
        if self.language_code is not None:
            user["language_code"] = self.language_code
        return user

    # ------------------------------------------------------------------ sending

    async def send(self, text: str, *, chat: FakeGroup | None = None) -> int:
        """Send ``text``; one that starts with ``/`` is a command (with its entity)."""
        message = self._message(chat, text=text)
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._fake.add_update("message", message)

    async def send_command(
        self, command: str, args: str = "", *, chat: FakeGroup | None = None
    ) -> int:
        """Send ``/command args``."""
        text = f"/{command.lstrip('/')}" + (f" {args}" if args else "")
        return await self.send(text, chat=chat)

    async def send_photo(
        self,
        content: bytes = b"",
        *,
        size: int | None = None,
        width: int = 1280,
        height: int = 960,
        caption: str | None = None,
        chat: FakeGroup | None = None,
    ) -> int:
        """Send a photo: Telegram's sizes, the largest last, holding ``content``.

        ``size`` is the size the fake reports for the largest one (by default the
        length of ``content``): give a large one to test the 20 MB download limit
        without making the bytes.
        """
        fake = self._fake
        small = fake.store_file(content[: max(len(content) // 10, 1)], "photos", "small.jpg")
        large = fake.store_file(content, "photos", "photo.jpg", size=size)
        photo = [
            {
                "file_id": small.file_id,
                "file_unique_id": small.file_unique_id,
                "width": max(width // 14, 1),
                "height": max(height // 14, 1),
                "file_size": small.size,
            },
            {
                "file_id": large.file_id,
                "file_unique_id": large.file_unique_id,
                "width": width,
                "height": height,
                "file_size": large.size,
            },
        ]
        message = self._message(chat, photo=photo)
        if caption is not None:
            message["caption"] = caption
        return fake.add_update("message", message)

    async def send_document(
        self,
        content: bytes = b"",
        *,
        file_name: str = "file.bin",
        mime_type: str = "application/octet-stream",
        size: int | None = None,
        caption: str | None = None,
        chat: FakeGroup | None = None,
    ) -> int:
        """Send a document holding ``content`` (``size`` is the size the fake reports)."""
        fake = self._fake
        stored = fake.store_file(content, "documents", file_name, size=size)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": stored.size,
        }
        message = self._message(chat, document=document)
        if caption is not None:
            message["caption"] = caption
        return fake.add_update("message", message)

    async def press(self, data: str, message: SentMessage) -> int:
        """Press an inline button with callback ``data`` under a message the bot sent."""
        fake = self._fake
        query = {
            "id": fake.new_callback(),
            "from": self.as_json(),
            "chat_instance": str(message.chat_id),
            "data": data,
            "message": fake.message_json(message, text=message.text),
        }
        return fake.add_update("callback_query", query)

    # ------------------------------------------------------------------ reading

    def sent(self) -> list[SentMessage]:
        """What the bot sent into this user's private chat, in order."""
        return self._fake.sent(self.id)

    async def replies(self, count: int = 1, *, timeout: float = 10.0) -> list[SentMessage]:
        """Wait until the bot has sent ``count`` messages into the private chat; return all."""
        return await self._fake.wait_for(self.id, count, timeout=timeout)

    def _message(self, chat: FakeGroup | None, **content: Any) -> dict[str, Any]:
        self._message_ids += 1
        chat_id = chat.id if chat is not None else self.id
        return {
            "message_id": self._message_ids,
            "date": now(),
            "chat": self._fake.chat(chat_id).as_json(),
            "from": self.as_json(),
            **content,
        }
