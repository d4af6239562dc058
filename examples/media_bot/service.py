"""`MediaBot`: uploads go to the media worker by reference; thumbnails come back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from aiogram.enums import ParseMode
from aiogram.types import BufferedInputFile

from examples.media_bot import texts
from examples.media_bot.handlers import router
from examples.media_bot.settings import MediaBotSettings

# The consumers' message types are read from their annotations when the service starts.
from examples.media_worker.messages import (
    FailureCode,
    MediaFailed,
    MediaProcessed,
)
from examples.media_worker.storage import MediaStore
from svckit.bot import BotService
from svckit.messaging import consumer

__all__ = ["MediaBot"]

if TYPE_CHECKING:
    from svckit.cache import Cache
    from svckit.messaging import Bus
    from svckit.storage import ContentStore


class MediaBot(BotService):
    """The media bot: /start, /help, /files, photos and image files to the media worker.

    Attributes:
        store: Uploads, outputs and statuses in the content store the worker shares.
    """

    settings: MediaBotSettings
    bot_routers: ClassVar[Any] = (router,)

    def __init__(
        self,
        settings: MediaBotSettings | None = None,
        *,
        bus: Bus | None = None,
        cache: Cache | None = None,
        storage: ContentStore | None = None,
    ) -> None:
        """Create the bot; its handlers get ``store`` by keyword too."""
        super().__init__(settings, bus=bus, cache=cache, storage=storage)
        s = self.settings
        self.store = MediaStore(self.storage, prefix=s.storage_namespace, ttl=s.media_ttl)
        self.dispatcher["store"] = self.store

    @consumer("media.processed", idempotent=True)
    async def deliver_thumbnail(self, event: MediaProcessed) -> None:
        """Send the thumbnail back into the chat the upload came from."""
        chat_id = _chat_of(event.context)
        if chat_id is None:
            return  # another service's upload
        thumbnail = await self.store.thumbnail(event.media_id)
        if thumbnail is None:
            await self.bot.send_message(chat_id, texts.failure(FailureCode.MISSING))
            return
        filename = await self.cache.get(f"upload-name:{event.media_id}", str)
        caption = texts.thumbnail_caption(filename, event.metadata.width, event.metadata.height)
        await self.bot.send_photo(
            chat_id,
            BufferedInputFile(thumbnail, filename="thumbnail.jpg"),
            caption=caption,
            parse_mode=ParseMode.HTML,
        )

    @consumer("media.failed", idempotent=True)
    async def report_failure(self, event: MediaFailed) -> None:
        """Tell the user why their upload failed, in their words."""
        chat_id = _chat_of(event.context)
        if chat_id is not None:
            await self.bot.send_message(chat_id, texts.failure(event.code))


def _chat_of(context: dict[str, str]) -> int | None:
    if context.get("source") != "media-bot":
        return None
    try:
        return int(context["chat_id"])
    except (KeyError, ValueError):
        return None
