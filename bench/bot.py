"""Echo updates through a bot: svckit's BotService vs a bare aiogram Dispatcher.

Both sides run real aiogram against the same kind of fake Telegram server
(`svckit.testing.telegram.FakeTelegram`) in this process, with the same echo handler. A
round queues N text updates from 100 users at once and times until the fake has taken
N replies: getUpdates, the handler, sendMessage. BotService confirms an update only once
its handler finished and passes every send through its flood control (the limits
raised here, so that the round measures the machinery, not Telegram's rates); the bare
Dispatcher's polling confirms updates as it fetches them. Rounds alternate; the line
printed gives the medians (updates per second) and the median of the per-round ratios.

    python bench/bot.py [--updates 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any, ClassVar

from _common import report
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession

from svckit.bot import BotService, BotSettings
from svckit.core.logging import configure_logging
from svckit.testing.telegram import FakeTelegram

if TYPE_CHECKING:
    from aiogram.types import Message

USERS = 100


async def echo(message: Message) -> None:
    await message.answer(message.text or "")


def echo_router() -> Router:
    router = Router()
    router.message(F.text)(echo)
    return router


class BenchSettings(BotSettings):
    service_name: str = "bench-bot"


class EchoBot(BotService):
    settings: BenchSettings
    bot_routers: ClassVar[Any] = (echo_router(),)


async def fill(telegram: FakeTelegram, count: int) -> None:
    users = [telegram.user(f"user{i}") for i in range(USERS)]
    for i in range(count):
        await users[i % USERS].send(f"echo {i}")


async def replies(telegram: FakeTelegram, count: int) -> None:
    await telegram.wait_until(
        lambda: sum(1 for _, m, _ in telegram.requests if m == "sendMessage") >= count
    )


async def svckit_round(count: int) -> float:
    async with FakeTelegram() as telegram:
        settings = BenchSettings(
            _env_file=None,
            bot_token=telegram.token,
            telegram_api_url=telegram.base_url,
            environment="test",
            health_port=None,
            log_level="WARNING",
            flood_global_rate=10**9,
            flood_private_rate=10**9,
        )
        async with EchoBot(settings):
            started = time.perf_counter()
            await fill(telegram, count)
            await replies(telegram, count)
            return count / (time.perf_counter() - started)


async def aiogram_round(count: int) -> float:
    async with FakeTelegram() as telegram:
        bot = Bot(telegram.token, session=AiohttpSession(api=telegram.api_server()))
        dispatcher = Dispatcher()
        dispatcher.include_router(echo_router())
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, close_bot_session=True)
        )
        try:
            await telegram.wait_until(
                lambda: any(m == "getUpdates" for _, m, _ in telegram.requests)
            )
            started = time.perf_counter()
            await fill(telegram, count)
            await replies(telegram, count)
            return count / (time.perf_counter() - started)
        finally:
            await dispatcher.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await polling


async def main(count: int, rounds: int) -> None:
    configure_logging(BenchSettings(_env_file=None, log_level="WARNING", environment="test"))
    logging.getLogger("aiogram").setLevel(logging.WARNING)
    ours: list[float] = []
    bare: list[float] = []
    # A first round of each, not counted: pydantic builds aiogram's response models lazily.
    await svckit_round(count // 4)
    await aiogram_round(count // 4)
    for _ in range(rounds):
        ours.append(await svckit_round(count))
        bare.append(await aiogram_round(count))
    report("bot", ours, bare, updates=count, unit="updates/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.updates, args.rounds))
