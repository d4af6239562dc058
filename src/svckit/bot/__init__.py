"""The bot kind: an aiogram 3 bot run by the service lifecycle, with the chassis.

::

    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, bus: Bus) -> None:
        await message.answer(f"Hello, {html.quote(message.from_user.first_name)}!")

    class Greeter(BotService):
        settings: GreeterSettings
        bot_routers = (router,)

``pip install "svckit[bot]"`` installs aiogram. Test a bot against
`svckit.testing.telegram.FakeTelegram`, which real aiogram talks to over HTTP.
"""

from svckit.core._extras import require

require("aiogram", "bot")

# After the check above, so that a missing aiogram fails with the install hint.
from svckit.bot._flood import FloodControl  # noqa: E402
from svckit.bot._fsm import CacheStorage  # noqa: E402
from svckit.bot._polling import Polling  # noqa: E402
from svckit.bot._webhook import SECRET_HEADER, Webhook  # noqa: E402
from svckit.bot.service import BotService  # noqa: E402
from svckit.bot.settings import DOWNLOAD_LIMIT, BotSettings  # noqa: E402

__all__ = [
    "DOWNLOAD_LIMIT",
    "SECRET_HEADER",
    "BotService",
    "BotSettings",
    "CacheStorage",
    "FloodControl",
    "Polling",
    "Webhook",
]
