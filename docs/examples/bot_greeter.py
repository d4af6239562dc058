"""A first bot: /start greets the user, anything else is echoed, and a counter is kept.

Run it against Telegram with a token from @BotFather::

    GREETER_BOT_TOKEN=123456:ABC... svckit run bot_greeter:Greeter

or run this file: it talks to svckit's fake Telegram server and prints the conversation.
"""

from __future__ import annotations

import asyncio
import html
from typing import TYPE_CHECKING, ClassVar

from aiogram import F, Router
from aiogram.filters import CommandStart
from pydantic_settings import SettingsConfigDict

from svckit.bot import BotService, BotSettings
from svckit.testing.telegram import FakeTelegram

if TYPE_CHECKING:
    from aiogram.types import Message

    from svckit.cache import Cache


# --8<-- [start:service]
class GreeterSettings(BotSettings):
    """Read from GREETER_* variables: GREETER_BOT_TOKEN, GREETER_BOT_MODE..."""

    model_config = SettingsConfigDict(env_prefix="GREETER_")

    service_name: str = "greeter"
    greeting: str = "Hello"


router = Router(name="greeter")


@router.message(CommandStart())
async def start(message: Message, settings: GreeterSettings, cache: Cache) -> None:
    """Greet the user by name (escaped: a name is the user's own text)."""
    name = html.escape(message.from_user.first_name if message.from_user else "there")
    greeted = await cache.incr("greeted")
    await message.answer(
        f"{settings.greeting}, <b>{name}</b>! (greeting #{greeted})", parse_mode="HTML"
    )


@router.message(F.text)
async def echo(message: Message) -> None:
    """Say the text back."""
    await message.answer(message.text or "")


class Greeter(BotService):
    """The bot: aiogram routers on a service."""

    settings: GreeterSettings
    bot_routers: ClassVar = (router,)


# --8<-- [end:service]


async def main() -> None:
    # --8<-- [start:fake]
    async with FakeTelegram() as telegram:
        settings = GreeterSettings(
            bot_token=telegram.token,
            telegram_api_url=telegram.base_url,
            health_port=None,
        )
        ada = telegram.user("Ada")
        async with Greeter(settings):
            await ada.send("/start")
            await ada.send("How are you?")
            for reply in await ada.replies(2):
                print(f"bot -> Ada: {reply.text}")
    # --8<-- [end:fake]


if __name__ == "__main__":
    asyncio.run(main())
