"""A fake Telegram Bot API server that real aiogram talks to over HTTP, for bot tests.

`FakeTelegram` listens on ``127.0.0.1`` (a free port) in the test's own event loop. A bot
reaches it through aiogram's custom server setting
(``TelegramAPIServer.from_base(telegram.base_url)``, or ``telegram_api_url`` in a
`svckit.bot.BotService`'s settings), so long polling, webhooks, uploads and file
downloads run for real. Users (`FakeUser`) send text, commands, photos and documents;
the test reads what the bot sent into each chat, in order, waiting with a deadline.
Faults (`Fault`: 429 with ``retry_after``, 5xx, slow answers, dropped connections) are
injected by method and by chat.

::

    async with FakeTelegram() as telegram:
        ada = telegram.user("Ada")
        await ada.send("/start")
        [greeting] = await ada.replies(1)
        assert "Ada" in greeting.text

Needs aiohttp, which the ``bot`` extra installs with aiogram (``pip install
"svckit[bot]"``).
"""

from svckit.core._extras import require

require("aiohttp", "bot")

# After the check above, so that a missing aiohttp fails with the install hint.
from svckit.testing.telegram._fake import DEFAULT_TOKEN, FakeTelegram  # noqa: E402
from svckit.testing.telegram._faults import Fault, FaultKind  # noqa: E402
from svckit.testing.telegram._model import (  # noqa: E402
    DOWNLOAD_LIMIT,
    Chat,
    SentMessage,
    StoredFile,
)
from svckit.testing.telegram._users import FakeGroup, FakeUser  # noqa: E402

__all__ = [
    "DEFAULT_TOKEN",
    "DOWNLOAD_LIMIT",
    "Chat",
    "FakeGroup",
    "FakeTelegram",
    "FakeUser",
    "Fault",
    "FaultKind",
    "SentMessage",
    "StoredFile",
]
