"""The media bot's Telegram handlers: commands, photos and image documents."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandStart

from examples.media_bot import texts
from examples.media_worker.storage import MediaStore, submit
from svckit.bot import DOWNLOAD_LIMIT
from svckit.core.errors import ContentTooLargeError, SvckitError
from svckit.core.logging import get_logger

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import Message

    from examples.media_bot.settings import MediaBotSettings
    from svckit.cache import Cache
    from svckit.messaging import Bus

__all__ = ["router"]

_log = get_logger("examples.media_bot")
router = Router(name="media-bot")

_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"})


@router.message(CommandStart())
async def start(message: Message) -> None:
    """Greet the user by name."""
    name = message.from_user.first_name if message.from_user else "there"
    await message.answer(texts.greeting(name), parse_mode=ParseMode.HTML)


@router.message(Command("help"))
async def help_(message: Message) -> None:
    """List the commands."""
    await message.answer(texts.HELP)


@router.message(Command("files"))
async def files(
    message: Message, cache: Cache, store: MediaStore, settings: MediaBotSettings
) -> None:
    """List the user's uploads with their status, in as many messages as it takes."""
    user_id = message.from_user.id if message.from_user else message.chat.id
    uploads = sorted((await cache.hgetall(_uploads_key(user_id))).items())
    uploads = uploads[-settings.uploads_listed :]
    if not uploads:
        await message.answer(texts.NO_UPLOADS)
        return
    lines = []
    for number, (field, _) in enumerate(uploads, start=1):
        _, _, media_id = field.partition(":")
        status = await store.status(media_id)
        filename = await cache.get(f"upload-name:{media_id}", str)
        lines.append(texts.upload_line(number, filename, status.state if status else None))
    for text in texts.split_lines(lines):
        await message.answer(text, parse_mode=ParseMode.HTML)


@router.message(F.photo)
async def photo(message: Message, bot: Bot, bus: Bus, cache: Cache, store: MediaStore) -> None:
    """Take the largest size of a photo."""
    assert message.photo  # noqa: S101 - the filter says so
    largest = message.photo[-1]
    await _take(message, bot, bus, cache, store, largest.file_id, largest.file_size, None)


@router.message(F.document)
async def document(message: Message, bot: Bot, bus: Bus, cache: Cache, store: MediaStore) -> None:
    """Take an image sent as a file; refuse other files."""
    doc = message.document
    assert doc is not None  # noqa: S101 - the filter says so
    if (doc.mime_type or "").lower() not in _IMAGE_TYPES:
        await message.answer(texts.NOT_AN_IMAGE)
        return
    await _take(message, bot, bus, cache, store, doc.file_id, doc.file_size, doc.file_name)


async def _take(  # noqa: PLR0917 - one step of two handlers
    message: Message,
    bot: Bot,
    bus: Bus,
    cache: Cache,
    store: MediaStore,
    file_id: str,
    size: int | None,
    filename: str | None,
) -> None:
    # Telegram says the size up front: a file over its download limit is refused here,
    # before getFile is called at all.
    if size is not None and size > DOWNLOAD_LIMIT:
        await message.answer(texts.TOO_LARGE)
        return
    try:
        file = await bot.get_file(file_id)
        downloaded = await bot.download_file(file.file_path) if file.file_path else None
    except TelegramBadRequest as exc:
        too_big = "too big" in exc.message
        _log.warning("could not fetch a file", error=type(exc).__name__)
        await message.answer(texts.TOO_LARGE if too_big else texts.UNAVAILABLE)
        return
    if downloaded is None:
        await message.answer(texts.UNAVAILABLE)
        return
    data = downloaded.read()
    user_id = message.from_user.id if message.from_user else message.chat.id
    context = {"chat_id": str(message.chat.id), "source": "media-bot"}
    try:
        media_id = await submit(
            store, bus, data, user_id=user_id, filename=filename, context=context
        )
    except ContentTooLargeError:
        await message.answer(texts.TOO_LARGE)
        return
    except SvckitError:
        _log.exception("could not submit an upload")
        await message.answer(texts.UNAVAILABLE)
        return
    await cache.hincr(_uploads_key(user_id), f"{time.time_ns()}:{media_id}", 1, ttl=store.ttl)
    if filename:
        await cache.set(f"upload-name:{media_id}", filename[:255], ttl=store.ttl)
    _log.info("upload submitted", media_id=media_id, size=len(data))
    await message.answer(texts.received(media_id), parse_mode=ParseMode.HTML)


def _uploads_key(user_id: int) -> str:
    return f"uploads:{user_id}"
