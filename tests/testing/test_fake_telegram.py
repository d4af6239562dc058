"""The fake Telegram server answers real aiogram over HTTP as Telegram does."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile

from svckit.testing.telegram import DOWNLOAD_LIMIT, FakeTelegram
from svckit.testing.telegram._html import visible_text

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    bot = Bot(telegram.token, session=AiohttpSession(api=telegram.api_server()))
    yield bot
    await bot.session.close()


async def test_polling_hands_out_updates_until_an_offset_confirms_them(
    telegram: FakeTelegram, bot: Bot
) -> None:
    ada = telegram.user("Ada")
    first = await ada.send("/start")
    second = await ada.send("hello")

    updates = await bot.get_updates(timeout=1)
    again = await bot.get_updates(offset=first + 1, timeout=0)
    after = await bot.get_updates(offset=second + 1, timeout=0)

    assert [u.update_id for u in updates] == [first, second]
    assert updates[0].message is not None
    assert updates[0].message.text == "/start"
    assert updates[0].message.from_user is not None
    assert updates[0].message.from_user.first_name == "Ada"
    assert [u.update_id for u in again] == [second]
    assert after == []


async def test_a_long_poll_returns_when_an_update_arrives(telegram: FakeTelegram, bot: Bot) -> None:
    ada = telegram.user()
    poll = asyncio.ensure_future(bot.get_updates(timeout=10))
    await asyncio.sleep(0)
    await ada.send("late")

    updates = await asyncio.wait_for(poll, 5)

    assert [u.message.text for u in updates if u.message] == ["late"]


async def test_two_pollers_conflict_and_a_webhook_stops_polling(
    telegram: FakeTelegram, bot: Bot
) -> None:
    first = asyncio.ensure_future(bot.get_updates(timeout=10))
    async with asyncio.timeout(5):
        await telegram.wait_until(lambda: bool(telegram.requests))
    second = asyncio.ensure_future(bot.get_updates(timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await asyncio.wait_for(first, 5)
    await second

    await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="s3cret")  # noqa: S106 - a test secret
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    info = await bot.get_webhook_info()
    assert info.url == "http://127.0.0.1:9/hook"
    await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == []


async def test_telegram_limits_are_refused_with_400(telegram: FakeTelegram, bot: Bot) -> None:
    ada = telegram.user()
    await bot.send_message(ada.id, "x" * 4096)
    await bot.send_message(ada.id, "<b>bold</b> &lt;ok&gt;", parse_mode="HTML")

    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ada.id, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(ada.id, "1 < 2 <b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(ada.id, BufferedInputFile(b"x", "x.jpg"), caption="c" * 1025)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(424242, "hi")
    assert [m.text for m in telegram.sent(ada.id)] == ["x" * 4096, "<b>bold</b> &lt;ok&gt;"]


def test_the_html_check_is_linear_on_a_megabyte() -> None:
    assert visible_text("<b>" * 100_000 + "</b>" * 100_000) == ""
    assert len(visible_text("&amp;" * 200_000)) == 200_000


async def test_uploads_are_kept_as_bytes_and_files_download(
    telegram: FakeTelegram, bot: Bot
) -> None:
    ada = telegram.user()
    await bot.send_photo(ada.id, BufferedInputFile(b"\x89PNG-bytes", "t.png"), caption="c")
    await bot.send_document(ada.id, BufferedInputFile(b"doc", "report.txt"))
    await ada.send_photo(b"J" * 1000)
    await ada.send_document(b"big", file_name="huge.png", size=DOWNLOAD_LIMIT + 1)
    [photo_update, document_update] = await bot.get_updates(timeout=1)

    photo, document = telegram.sent(ada.id)
    assert (photo.photo, photo.caption) == (b"\x89PNG-bytes", "c")
    assert (document.document, document.file_name) == (b"doc", "report.txt")
    assert photo_update.message is not None
    assert photo_update.message.photo is not None
    largest = photo_update.message.photo[-1]
    file = await bot.get_file(largest.file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None
    assert downloaded.read() == b"J" * 1000
    assert document_update.message is not None
    assert document_update.message.document is not None
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(document_update.message.document.file_id)


async def test_edits_callbacks_and_actions(telegram: FakeTelegram, bot: Bot) -> None:
    ada = telegram.user()
    message = await bot.send_message(ada.id, "one")
    await bot.edit_message_text("two", chat_id=ada.id, message_id=message.message_id)
    await bot.send_chat_action(ada.id, "typing")
    [sent] = telegram.sent(ada.id)
    await ada.press("yes", sent)
    [update] = await bot.get_updates(timeout=1)
    assert update.callback_query is not None
    await bot.answer_callback_query(update.callback_query.id, text="done")

    assert sent.edits == ["two"]
    assert telegram.actions == [(ada.id, "typing")]
    assert telegram.answers == {update.callback_query.id: "done"}
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_text("two", chat_id=ada.id, message_id=message.message_id)
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query(update.callback_query.id)


async def test_faults_by_method_and_chat(telegram: FakeTelegram, bot: Bot) -> None:
    ada, bob = telegram.user("Ada"), telegram.user("Bob")
    telegram.inject("retry_after", method="sendMessage", chat_id=ada.id, retry_after=7)
    telegram.inject("server_error", method="sendChatAction", status=502)
    telegram.inject("drop", method="getMe")

    await bot.send_message(bob.id, "bob is not affected")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(ada.id, "held")
    assert caught.value.retry_after == 7
    await bot.send_message(ada.id, "the fault is spent")
    with pytest.raises(TelegramServerError):
        await bot.send_chat_action(ada.id, "typing")
    with pytest.raises(TelegramNetworkError):
        await bot.get_me()


async def test_a_wrong_token_is_unauthorized(telegram: FakeTelegram) -> None:
    other = Bot("42:" + "x" * 35, session=AiohttpSession(api=telegram.api_server()))
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await other.get_me()
    finally:
        await other.session.close()


async def test_waiting_for_replies_has_a_deadline(telegram: FakeTelegram) -> None:
    ada = telegram.user()
    with pytest.raises(TimeoutError, match="0 of 1 messages"):
        await ada.replies(1, timeout=0.05)
