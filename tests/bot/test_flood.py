"""Flood control: Telegram's 429 waited out per chat; the global rate shared through Redis."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession

from svckit.bot import FloodControl
from svckit.cache import Cache

if TYPE_CHECKING:
    from svckit.testing.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/0"


async def test_a_429_holds_that_chat_only_and_loses_no_message(telegram: FakeTelegram) -> None:
    ada, bob = telegram.user("Ada"), telegram.user("Bob")
    telegram.inject("retry_after", method="sendMessage", chat_id=ada.id, retry_after=2, times=3)
    cache = Cache.from_url("memory://", namespace=f"flood-{uuid.uuid4().hex[:8]}")
    flood = FloodControl(cache, private_rate=100)
    session = AiohttpSession(api=telegram.api_server())
    session.middleware(flood)
    bot = Bot(telegram.token, session=session)
    try:
        async with cache:
            await asyncio.gather(
                *(bot.send_message(ada.id, f"ada {i}") for i in range(3)),
                *(bot.send_message(bob.id, f"bob {i}") for i in range(3)),
            )
    finally:
        await bot.session.close()

    assert sorted(m.text or "" for m in ada.sent()) == ["ada 0", "ada 1", "ada 2"]
    assert len(bob.sent()) == 3
    # Bob's chat was not held up by Ada's pause: all of his arrived before any of hers.
    assert max(m.sent_at for m in bob.sent()) < min(m.sent_at for m in ada.sent())
    assert flood.retried == 3


async def test_a_private_chat_gets_one_message_per_second(telegram: FakeTelegram) -> None:
    ada = telegram.user()
    cache = Cache.from_url("memory://", namespace=f"flood-{uuid.uuid4().hex[:8]}")
    session = AiohttpSession(api=telegram.api_server())
    session.middleware(FloodControl(cache))
    bot = Bot(telegram.token, session=session)
    try:
        async with cache:
            await asyncio.gather(*(bot.send_message(ada.id, str(i)) for i in range(3)))
    finally:
        await bot.session.close()

    windows = Counter(int(at) for at, method, _ in telegram.requests if method == "sendMessage")
    # One per second; a send granted at a second's very end may land in the next one.
    assert sum(windows.values()) == 3
    assert max(windows.values()) <= 2
    assert len(windows) >= 2


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.timeout(60)
async def test_two_processes_sharing_redis_stay_under_the_global_rate(
    telegram: FakeTelegram,
) -> None:
    rate = 5
    users = [telegram.user(f"user{i}") for i in range(16)]
    namespace = f"flood-{uuid.uuid4().hex[:8]}"
    halves = [users[:8], users[8:]]
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.bot._flood_sender",
            telegram.base_url,
            telegram.token,
            REDIS_URL,
            namespace,
            str(rate),
            *(str(u.id) for u in half),
            cwd=ROOT,
        )
        for half in halves
    ]
    codes = [await asyncio.wait_for(p.wait(), 50) for p in processes]

    assert codes == [0, 0]
    sends = [at for at, method, _ in telegram.requests if method == "sendMessage"]
    assert len(sends) == 16
    first, last = int(min(sends)), int(max(sends))
    # The limiter grants at most `rate` sends per one-second window across both processes,
    # so 16 sends need at least four windows: they cannot arrive within fewer than three
    # seconds. Without sharing, each process would send its 8 within two windows. (How
    # many arrive in one second is not checked: on a loaded machine, sends granted in one
    # window can arrive together in the next.)
    assert last - first + 1 >= -(-16 // rate) - 1
