"""Small bots for the BotService tests."""

from __future__ import annotations

import asyncio
import html
from typing import TYPE_CHECKING, Any, ClassVar

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.state import State, StatesGroup
from sqlalchemy import text

from svckit.bot import BotService, BotSettings
from svckit.core.logging import get_logger

if TYPE_CHECKING:
    from aiogram.fsm.context import FSMContext
    from aiogram.types import Message
    from sqlalchemy.ext.asyncio import AsyncSession

    from svckit.cache import Cache
    from svckit.messaging import Bus
    from svckit.storage import ContentStore

log = get_logger("tests.bot")
router = Router(name="sample")

#: Set by a test to let the /slow handler finish.
RELEASE = asyncio.Event()  # a test puts a fresh one here (one per event loop)
STARTED: list[int] = []


class Name(StatesGroup):
    waiting = State()


class SampleSettings(BotSettings):
    service_name: str = "sample-bot"


@router.message(CommandStart())
async def start(message: Message) -> None:
    assert message.from_user is not None
    log.info("greeting")
    await message.answer(f"Hello, {html.escape(message.from_user.first_name)}!")


@router.message(Command("deps"))
async def deps(  # noqa: PLR0917 - aiogram passes what a handler names
    message: Message,
    bus: Bus,
    cache: Cache,
    storage: ContentStore,
    settings: BotSettings,
    service: BotService,
) -> None:
    await cache.set("deps", "seen")
    await storage.put("bot/deps", b"ok")
    names = [type(x).__name__ for x in (bus, cache, storage, settings, service)]
    await message.answer(" ".join(names))


@router.message(Command("name"))
async def ask_name(message: Message, state: FSMContext) -> None:
    await state.set_state(Name.waiting)
    await message.answer("What is your name?")


@router.message(Name.waiting, F.text)
async def got_name(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(f"Nice to meet you, {html.escape(message.text or '')}")


@router.message(Command("slow"))
async def slow(message: Message) -> None:
    STARTED.append(message.message_id)
    await RELEASE.wait()
    await message.answer("slow done")


@router.message(Command("boom"))
async def boom(_: Message) -> None:
    raise RuntimeError("handler bug")


@router.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text or "")


class SampleBot(BotService):
    settings: SampleSettings
    bot_routers: ClassVar[Any] = (router,)


db_router = Router(name="with-db")


@db_router.message(Command("db"))
async def with_session(message: Message, session: AsyncSession) -> None:
    value = (await session.execute(text("select 41 + 1"))).scalar_one()
    await message.answer(f"db says {value}")


@db_router.message(Command("nodb"))
async def without_session(message: Message) -> None:
    await message.answer("no session needed")


class DatabaseBot(BotService):
    settings: SampleSettings
    uses_database: ClassVar[bool] = True
    bot_routers: ClassVar[Any] = (db_router,)
