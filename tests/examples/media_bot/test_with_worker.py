"""The media bot and the media worker in one harness: a photo in, its thumbnail back."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from examples.media_bot import MediaBot, MediaBotSettings
from examples.media_worker import MediaWorker
from svckit.storage import forget_memory_storage
from svckit.testing import ServiceHarness
from tests.bot._support import bot_settings
from tests.examples.media_worker._images import jpeg
from tests.examples.media_worker._support import worker_settings

if TYPE_CHECKING:
    from svckit.testing.telegram import FakeTelegram


async def test_a_user_sends_a_photo_and_receives_its_thumbnail(telegram: FakeTelegram) -> None:
    shared = f"memory://media-bot-{uuid.uuid4().hex}"
    worker = MediaWorker(worker_settings(bus_url=shared, storage_url=shared))
    bot = MediaBot(
        MediaBotSettings(
            _env_file=None,
            bus_url=shared,
            storage_url=shared,
            cache_url="memory://",
            environment="test",
            health_port=None,
            **bot_settings(telegram),
        ),
    )
    ada = telegram.user("Ada")
    try:
        async with ServiceHarness(worker), ServiceHarness(bot):
            await ada.send_document(jpeg((800, 600)), file_name="cat.jpg", mime_type="image/jpeg")
            received, thumbnail = await ada.replies(2, timeout=30)
    finally:
        forget_memory_storage(shared)

    assert received.text is not None
    assert "Upload" in received.text
    assert thumbnail.method == "sendPhoto"
    assert thumbnail.photo is not None
    assert thumbnail.photo.startswith(b"\xff\xd8")  # a JPEG
    assert thumbnail.caption == "Thumbnail of cat.jpg (800x600)"
