"""`BotSettings`: the token, the Telegram server, polling or webhook, and the flood limits."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from svckit.core.errors import ConfigurationError
from svckit.core.settings import ServiceSettings

__all__ = ["DOWNLOAD_LIMIT", "BotSettings"]

#: The largest file a bot may download from Telegram's Bot API (getFile): 20 MB.
DOWNLOAD_LIMIT = 20 * 1024 * 1024

# What Telegram accepts as a webhook's secret token.
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class BotSettings(ServiceSettings):
    """Settings of a bot: the base settings, plus Telegram's.

    Attributes:
        health_port: ``/livez`` and ``/readyz`` are served here (8081 by default).
        bot_token: The bot's token from @BotFather; production refuses it unset.
        telegram_api_url: The Bot API server's base URL: unset is Telegram's own
            (``https://api.telegram.org``); a local Bot API server or
            `svckit.testing.telegram.FakeTelegram` otherwise.
        bot_mode: ``polling`` (long polling, the default) or ``webhook``.
        polling_timeout: Seconds one getUpdates long poll waits for updates.
        bot_concurrency: Updates handled at once; more wait (back pressure).
        webhook_url: The public URL Telegram posts updates to (HTTPS in production).
        webhook_secret: The secret Telegram sends back in
            ``X-Telegram-Bot-Api-Secret-Token`` (1-256 of ``A-Z a-z 0-9 _ -``).
        webhook_host: The address the webhook listens on.
        webhook_port: The port the webhook listens on.
        flood_global_rate: Messages per second the bot sends overall (Telegram: ~30).
        flood_private_rate: Messages per second into one private chat (Telegram: 1).
        flood_group_rate: Messages per minute into one group (Telegram: 20).
    """

    model_config = SettingsConfigDict(env_prefix="SVCKIT_")

    health_port: int | None = Field(default=8081, ge=0, le=65535)
    bot_token: SecretStr = SecretStr("")
    telegram_api_url: str | None = None
    bot_mode: Literal["polling", "webhook"] = "polling"
    polling_timeout: int = Field(default=30, ge=0, le=50)
    bot_concurrency: int = Field(default=64, ge=1)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=0, le=65535)
    flood_global_rate: int = Field(default=30, ge=1)
    flood_private_rate: int = Field(default=1, ge=1)
    flood_group_rate: int = Field(default=20, ge=1)

    @model_validator(mode="after")
    def _check_webhook(self) -> BotSettings:
        if self.bot_mode != "webhook":
            return self
        problems = []
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        if secret and not _SECRET.fullmatch(secret):
            problems.append(
                f"{self.env_name('webhook_secret')} may hold only A-Z, a-z, 0-9, _ and - "
                "(1 to 256 of them), as Telegram requires",
            )
        if not self.webhook_url:
            problems.append(f"webhook mode needs {self.env_name('webhook_url')}")
        if self.is_production:
            if not secret:
                problems.append(
                    f"webhook mode in production needs {self.env_name('webhook_secret')}, "
                    "so that only Telegram can post updates",
                )
            if self.webhook_url and urlsplit(self.webhook_url).scheme != "https":
                problems.append(f"{self.env_name('webhook_url')} must be an https:// URL")
        if problems:
            raise ConfigurationError("refusing to start the bot: " + "; ".join(problems))
        return self
