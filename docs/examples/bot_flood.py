"""Flood control: a 429 for one chat is waited out; the message still arrives."""

from __future__ import annotations

import asyncio

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession

from svckit.bot import FloodControl
from svckit.cache import Cache
from svckit.testing.telegram import FakeTelegram


async def main() -> None:
    async with FakeTelegram() as telegram:
        ada, bob = telegram.user("Ada"), telegram.user("Bob")
        telegram.inject("retry_after", method="sendMessage", chat_id=ada.id, retry_after=1)
        # --8<-- [start:session]
        cache = Cache.from_url("memory://", namespace="my-bot")  # redis://... in production
        flood = FloodControl(cache, global_rate=30, private_rate=1, group_rate=20)
        session = AiohttpSession(api=telegram.api_server())
        session.middleware(flood)
        bot = Bot(telegram.token, session=session)
        # --8<-- [end:session]
        async with cache:
            await asyncio.gather(
                bot.send_message(ada.id, "to Ada"), bot.send_message(bob.id, "to Bob")
            )
        await bot.session.close()

        first, second = sorted([*ada.sent(), *bob.sent()], key=lambda m: m.sent_at)
        print(f"{first.text!r} first, then {second.text!r} after the 429 ({flood.retried} retried)")
        assert (first.text, second.text, flood.retried) == ("to Bob", "to Ada", 1)


if __name__ == "__main__":
    asyncio.run(main())
