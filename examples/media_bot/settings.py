"""The media bot's settings, read from ``MEDIA_BOT_*`` environment variables and ``.env``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from svckit.bot import BotSettings

__all__ = ["MediaBotSettings"]


class MediaBotSettings(BotSettings):
    """Settings of the media bot.

    Attributes:
        service_name: Names the bot's queues (``media-bot.deliver_thumbnail``...).
        storage_namespace: The key prefix media lives under in the content store: the
            media worker's (``MEDIA_STORAGE_NAMESPACE``), so that it finds the uploads.
        media_ttl: Seconds uploads and their statuses are kept.
        uploads_listed: How many of a user's latest uploads /files lists.
    """

    model_config = SettingsConfigDict(env_prefix="MEDIA_BOT_")

    service_name: str = Field(default="media-bot", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    storage_namespace: str = Field(default="media", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    media_ttl: float = Field(default=24 * 3600.0, gt=0)
    uploads_listed: int = Field(default=200, ge=1, le=10_000)
