"""Testing any aiogram bot with the fake Telegram server: users, files, faults."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramRetryAfter

from svckit.testing.telegram import DOWNLOAD_LIMIT, FakeTelegram

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from aiogram.types import Message

router = Router()


@router.message(F.photo)
async def photo(message: Message, bot: Bot) -> None:
    assert message.photo is not None
    largest = message.photo[-1]
    if (largest.file_size or 0) > DOWNLOAD_LIMIT:
        await message.answer("too large")
        return
    file = await bot.get_file(largest.file_id)
    assert file.file_path is not None
    data = await bot.download_file(file.file_path)
    assert data is not None
    await message.answer(f"got {len(data.read())} bytes")


# --8<-- [start:plain]
@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


async def test_a_plain_aiogram_bot_downloads_a_photo(telegram: FakeTelegram) -> None:
    bot = Bot(telegram.token, session=AiohttpSession(api=telegram.api_server()))
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    ada = telegram.user("Ada")

    await ada.send_photo(b"\xff\xd8" + b"x" * 998)
    await ada.send_photo(b"", size=DOWNLOAD_LIMIT + 1)  # reported size only
    for update in await bot.get_updates(timeout=1):
        await dispatcher.feed_update(bot, update)
    await bot.session.close()

    assert [m.text for m in await ada.replies(2)] == ["got 1000 bytes", "too large"]


# --8<-- [end:plain]


# --8<-- [start:faults]
async def test_faults_are_injected_by_method_and_chat(telegram: FakeTelegram) -> None:
    bot = Bot(telegram.token, session=AiohttpSession(api=telegram.api_server()))
    ada, bob = telegram.user("Ada"), telegram.user("Bob")
    telegram.inject("retry_after", method="sendMessage", chat_id=ada.id, retry_after=5)

    await bot.send_message(bob.id, "Bob is not affected")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(ada.id, "Ada's chat answers 429 once")
    await bot.send_message(ada.id, "then it is spent")
    await bot.session.close()

    assert [m.text for m in ada.sent()] == ["then it is spent"]


# --8<-- [end:faults]
