"""Run by the flood test in a child process: send messages through a shared FloodControl.

Usage: ``python -m tests.bot._flood_sender BASE_URL TOKEN CACHE_URL NAMESPACE RATE CHAT...``
"""

from __future__ import annotations

import asyncio
import sys

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from svckit.bot import FloodControl
from svckit.cache import Cache


async def main(
    base: str, token: str, cache_url: str, namespace: str, rate: str, *chats: str
) -> None:
    cache = Cache.from_url(cache_url, namespace=namespace)
    async with cache:
        session = AiohttpSession(api=TelegramAPIServer.from_base(base))
        session.middleware(FloodControl(cache, global_rate=int(rate), private_rate=1000))
        bot = Bot(token, session=session)
        try:
            await asyncio.gather(*(bot.send_message(int(chat), "hi") for chat in chats))
        finally:
            await bot.session.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
