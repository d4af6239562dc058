"""The bot's settings and start-up: what production refuses, and the token never shown."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from svckit import ConfigurationError
from svckit.bot import BotSettings
from svckit.testing import ServiceHarness
from tests.bot._support import harness
from tests.bot.sample_bots import DatabaseBot, SampleBot

if TYPE_CHECKING:
    from svckit.testing.telegram import FakeTelegram

TOKEN = "123456:AAH" + "s" * 32
PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "service_name": "my-bot",
    "bus_url": "amqp://bot:pw@rabbit:5672/",
    "cache_url": "redis://redis:6379/0",
    "storage_url": "redis://redis:6379/1",
    "bot_token": TOKEN,
}


def test_production_refuses_a_missing_token() -> None:
    with pytest.raises(ConfigurationError, match="SVCKIT_BOT_TOKEN"):
        BotSettings(_env_file=None, **{**PRODUCTION, "bot_token": ""})


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"webhook_secret": None}, "SVCKIT_WEBHOOK_SECRET"),
        ({"webhook_url": "http://bot.example.com/hook"}, "SVCKIT_WEBHOOK_URL"),
    ],
)
def test_production_refuses_a_webhook_without_secret_or_https(
    change: dict[str, Any], variable: str
) -> None:
    webhook = {
        "bot_mode": "webhook",
        "webhook_url": "https://bot.example.com/hook",
        "webhook_secret": "s" * 40,
        **change,
    }
    with pytest.raises(ConfigurationError, match=variable) as caught:
        BotSettings(_env_file=None, **{**PRODUCTION, **webhook})
    assert TOKEN not in str(caught.value)


def test_a_malformed_token_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigurationError, match="SVCKIT_BOT_TOKEN") as caught:
        SampleBot(BotSettings(_env_file=None, bot_token="not a token: secret-part"))  # noqa: S106
    assert "secret-part" not in str(caught.value)


async def test_a_token_telegram_refuses_fails_the_start_without_showing_it(
    telegram: FakeTelegram,
) -> None:
    wrong = "42:" + "w" * 35
    with pytest.raises(ConfigurationError, match="refused the bot token") as caught:
        async with ServiceHarness(SampleBot, bot_token=wrong, telegram_api_url=telegram.base_url):
            pass
    assert "w" * 35 not in str(caught.value)


async def test_a_handler_gets_a_database_session_when_it_asks(telegram: FakeTelegram) -> None:
    ada = telegram.user()
    async with harness(DatabaseBot, telegram):
        await ada.send("/db")
        await ada.replies(1)
        await ada.send("/nodb")
        replies = await ada.replies(2)

    assert [m.text for m in replies] == ["db says 42", "no session needed"]
