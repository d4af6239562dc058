"""Webhook mode in production: a secret and an https:// URL, or the bot refuses to start."""

from __future__ import annotations

from typing import Any

from pydantic_settings import SettingsConfigDict

from svckit import ConfigurationError
from svckit.bot import BotSettings


class MyBotSettings(BotSettings):
    model_config = SettingsConfigDict(env_prefix="MYBOT_")


# --8<-- [start:production]
production: dict[str, Any] = {
    "environment": "production",
    "service_name": "my-bot",
    "bus_url": "amqp://bot:secret@rabbitmq:5672/",
    "cache_url": "redis://redis:6379/0",
    "storage_url": "redis://redis:6379/1",
    "bot_token": "123456:AAH-real-token-from-botfather-0123456789",
    "bot_mode": "webhook",
    "webhook_url": "https://bot.example.com/telegram",
    "webhook_secret": "a-long-random-value-only-telegram-knows",
    "webhook_host": "0.0.0.0",  # noqa: S104 - behind the load balancer
    "webhook_port": 8443,
}
settings = MyBotSettings(_env_file=None, **production)
print("webhook at", settings.webhook_url)

changes: list[dict[str, Any]] = [
    {"webhook_secret": None},
    {"webhook_url": "http://bot.example.com/telegram"},
]
for missing in changes:
    try:
        MyBotSettings(_env_file=None, **{**production, **missing})
    except ConfigurationError as exc:
        print("refused:", exc)
    else:
        raise AssertionError("production must refuse this")
# --8<-- [end:production]
