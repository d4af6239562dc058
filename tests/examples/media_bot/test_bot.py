"""The media bot, with real aiogram against the fake Telegram server, polling and webhook."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from examples.media_bot import MediaBot
from examples.media_bot.texts import MESSAGE_LIMIT, split_lines
from examples.media_worker.messages import FailureCode, MediaFailed, ProcessMedia
from svckit.bot import DOWNLOAD_LIMIT
from tests.bot._support import harness, receive_commands
from tests.examples.media_worker._images import jpeg

if TYPE_CHECKING:
    from svckit.testing.telegram import FakeTelegram


async def test_start_greets_by_name_escaped_and_help_lists_commands(
    telegram: FakeTelegram, mode: str
) -> None:
    ada = telegram.user("<script>Ada</script>")
    async with harness(MediaBot, telegram, mode):
        await ada.send("/start")
        await ada.replies(1)
        await ada.send("/help")
        greeting, help_ = await ada.replies(2)

    assert greeting.text is not None
    assert "&lt;script&gt;Ada&lt;/script&gt;" in greeting.text
    assert "<script>" not in greeting.text
    assert help_.text is not None
    assert all(c in help_.text for c in ("/start", "/help", "/files"))


async def test_a_photo_is_stored_and_sent_to_the_worker_by_reference(
    telegram: FakeTelegram, mode: str
) -> None:
    ada = telegram.user()
    picture = jpeg()
    async with harness(MediaBot, telegram, mode) as h:
        receive_commands(h.broker, "media.process")
        await ada.send_photo(picture)
        [reply] = await ada.replies(1)
        [command] = h.published(ProcessMedia)
        stored = await h.service.store.original(command.media_id)

    assert stored == picture  # the largest size, not the small one
    assert command.user_id == ada.id
    assert command.context["chat_id"] == str(ada.id)
    assert reply.text is not None
    assert command.media_id in reply.text


async def test_an_image_document_is_taken_and_another_file_refused(
    telegram: FakeTelegram, mode: str
) -> None:
    ada = telegram.user()
    async with harness(MediaBot, telegram, mode) as h:
        receive_commands(h.broker, "media.process")
        await ada.send_document(jpeg(), file_name="cat.jpg", mime_type="image/jpeg")
        await ada.replies(1)
        await ada.send_document(b"%PDF", file_name="doc.pdf", mime_type="application/pdf")
        _, refusal = await ada.replies(2)
        [command] = h.published(ProcessMedia)

    assert command.filename == "cat.jpg"
    assert refusal.text is not None
    assert "not an image" in refusal.text


async def test_a_file_over_20_mb_is_refused_before_get_file(
    telegram: FakeTelegram, mode: str
) -> None:
    ada = telegram.user()
    async with harness(MediaBot, telegram, mode) as h:
        await ada.send_photo(b"x", size=DOWNLOAD_LIMIT + 1)
        [refusal] = await ada.replies(1)
        assert h.published(ProcessMedia) == []

    assert refusal.text is not None
    assert "20 MB" in refusal.text
    assert "getFile" not in [method for _, method, _ in telegram.requests]


async def test_a_failure_reaches_the_user_in_their_words(telegram: FakeTelegram) -> None:
    ada = telegram.user()
    async with harness(MediaBot, telegram) as h:
        await h.publish(
            MediaFailed(
                media_id="m1",
                code=FailureCode.CORRUPT,
                reason="PIL.UnidentifiedImageError: cannot identify image file <_io.BytesIO>",
                context={"chat_id": str(ada.id), "source": "media-bot"},
            ),
        )
        await h.wait_idle()
        [message] = await ada.replies(1)

    assert message.text == "That image is damaged, so I could not read it."


async def test_files_lists_uploads_escaped_in_messages_under_the_limit(
    telegram: FakeTelegram, mode: str
) -> None:
    ada = telegram.user()
    name = "<b>" + "n" * 200 + ".png"
    async with harness(MediaBot, telegram, mode) as h:
        for _ in range(25):
            media_id = uuid.uuid4().hex
            await h.service.store.put_original(b"x", media_id=media_id)
            await h.cache.hincr(f"uploads:{ada.id}", f"{uuid.uuid1().int}:{media_id}", 1)
            await h.cache.set(f"upload-name:{media_id}", name)
        await ada.send("/files")
        await ada.replies(2)
        sent = ada.sent()

    assert len(sent) == 2  # 25 lines of ~220 characters: two messages
    lines = [line for m in sent for line in (m.text or "").split("\n")]
    assert len(lines) == 25
    assert all(line.endswith("n.png: waiting") and "&lt;b&gt;" in line for line in lines)
    assert all(len(m.text or "") <= MESSAGE_LIMIT for m in sent)


def test_split_lines_breaks_only_between_lines() -> None:
    lines = [f"{i}:" + "x" * 1000 for i in range(10)]
    messages = split_lines(lines)
    assert [line for m in messages for line in m.split("\n")] == lines
    assert all(len(m) <= MESSAGE_LIMIT for m in messages)
