"""Tests of the first bot: real aiogram against svckit's fake Telegram server."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest
from bot_greeter import Greeter

from svckit.testing import ServiceHarness
from svckit.testing.telegram import FakeTelegram

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


# --8<-- [start:fixture]
@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def bot(telegram: FakeTelegram, **settings: object) -> ServiceHarness[Greeter]:
    """The bot in a harness, talking to the fake server."""
    return ServiceHarness(
        Greeter, bot_token=telegram.token, telegram_api_url=telegram.base_url, **settings
    )


# --8<-- [end:fixture]


# --8<-- [start:tests]
async def test_start_greets_by_name(telegram: FakeTelegram) -> None:
    ada = telegram.user("Ada <3")
    async with bot(telegram, greeting="Welcome"):
        await ada.send("/start")
        [reply] = await ada.replies(1)

    assert reply.text == "Welcome, <b>Ada &lt;3</b>! (greeting #1)"


async def test_other_text_is_echoed(telegram: FakeTelegram) -> None:
    ada = telegram.user("Ada")
    async with bot(telegram):
        await ada.send("ping")
        [reply] = await ada.replies(1)

    assert reply.text == "ping"


async def test_webhook_mode_answers_the_same(telegram: FakeTelegram) -> None:
    ada = telegram.user("Ada")
    with socket.socket() as probe:  # a free port for the bot's webhook server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with bot(
        telegram,
        bot_mode="webhook",
        webhook_url=f"http://127.0.0.1:{port}/telegram",
        webhook_port=port,
        webhook_secret="change-me-0123456789",  # noqa: S106 - the test's own
    ):
        await ada.send("ping")
        [reply] = await ada.replies(1)

    assert reply.text == "ping"
    assert telegram.webhook_secret == "change-me-0123456789"  # noqa: S105 - the test's own


# --8<-- [end:tests]
