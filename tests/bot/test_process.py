"""A bot run by `svckit run` in a child process, stopped by real signals."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest

from tests._processes import svckit_run

if TYPE_CHECKING:
    from svckit.testing.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
TARGET = "tests.bot._process_bot:ProcessBot"


def env(telegram: FakeTelegram, **more: str) -> dict[str, str]:
    return {
        "SVCKIT_BOT_TOKEN": telegram.token,
        "SVCKIT_TELEGRAM_API_URL": telegram.base_url,
        "SVCKIT_POLLING_TIMEOUT": "2",
        "SVCKIT_HEALTH_PORT": "0",
        "SVCKIT_LOG_FORMAT": "json",
        "SVCKIT_LOG_LEVEL": "DEBUG",
        **more,
    }


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_sigterm_lets_a_slow_handler_finish_and_confirms_its_update(
    telegram: FakeTelegram,
) -> None:
    ada = telegram.user()
    async with svckit_run(TARGET, env(telegram, SLOW_SECONDS="2"), cwd=ROOT) as bot:
        listening = await bot.wait_log("health endpoints listening")
        await bot.wait_log("service started")
        async with (
            aiohttp.ClientSession() as client,
            client.get(f"http://127.0.0.1:{listening['port']}/readyz") as resp,
        ):
            assert resp.status == 200
        update_id = await ada.send("/slow")
        started = await bot.wait_log("slow handler started")
        code = await bot.stop()

    assert code == 0
    assert started["update_id"] == update_id
    assert started["chat_id"] == ada.id
    assert started["user_id"] == ada.id
    assert [m.text for m in ada.sent()] == ["slow done"]
    # Confirmed to Telegram: no later getUpdates would hand it out again.
    assert telegram.updates.pending == []
    # The whole run logged at DEBUG, and the token's secret part never appeared.
    secret = telegram.token.partition(":")[2]
    assert secret not in json.dumps(bot.logs)
    assert bot.logs


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_sigkill_during_a_handler_means_the_update_comes_again(
    telegram: FakeTelegram,
) -> None:
    ada = telegram.user()
    async with svckit_run(TARGET, env(telegram, SLOW_SECONDS="60"), cwd=ROOT) as first:
        update_id = await ada.send("/slow")
        await first.wait_log("slow handler started")
        first.process.send_signal(signal.SIGKILL)
        await first.process.wait()

    assert [u["update_id"] for u in telegram.updates.pending] == [update_id]
    async with svckit_run(TARGET, env(telegram, SLOW_SECONDS="0"), cwd=ROOT) as second:
        again = await second.wait_log("slow handler started")
        await ada.replies(1, timeout=30)
        await asyncio.wait_for(second.stop(), 60)

    assert again["update_id"] == update_id
    assert [m.text for m in ada.sent()] == ["slow done"]
