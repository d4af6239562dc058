"""A bot run in a child process by the signal tests: /slow takes SLOW_SECONDS to answer."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any, ClassVar

from aiogram import Router
from aiogram.filters import Command

from svckit.bot import BotService, BotSettings
from svckit.core.logging import get_logger

if TYPE_CHECKING:
    from aiogram.types import Message

log = get_logger("tests.bot.process")
router = Router(name="process")


class ProcessSettings(BotSettings):
    service_name: str = "process-bot"


@router.message(Command("slow"))
async def slow(message: Message) -> None:
    log.info("slow handler started")
    await asyncio.sleep(float(os.environ.get("SLOW_SECONDS", "0")))
    await message.answer("slow done")
    log.info("slow handler finished")


@router.message(Command("fast"))
async def fast(message: Message) -> None:
    await message.answer(f"fast {message.message_id}")


class ProcessBot(BotService):
    settings: ProcessSettings
    bot_routers: ClassVar[Any] = (router,)
