"""The media worker's settings, read from ``MEDIA_*`` environment variables and ``.env``."""

from __future__ import annotations

import os
from typing import Literal

from PIL import Image
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from examples.media_worker.imaging import ImageOptions
from svckit.worker import WorkerSettings

__all__ = ["MediaWorkerSettings"]

# Pillow's own decompression-bomb limit, which max_pixels may not exceed.
_PILLOW_LIMIT = Image.MAX_IMAGE_PIXELS or 89_478_485


class MediaWorkerSettings(WorkerSettings):
    """Settings of the media worker.

    Attributes:
        service_name: Names the worker's queues (``media-worker.process_media``...).
        storage_namespace: The key prefix media and statuses live under in the content
            store (``storage_url``); producers and readers use the same one.
        analytics_namespace: The cache namespace of the analytics counters.
        media_ttl: Seconds originals, outputs and statuses are kept.
        analytics_ttl: Seconds each hour's counters are kept.
        thumbnail_size: The thumbnail fits in a square of this many pixels.
        thumbnail_quality: JPEG quality of the thumbnail.
        compressed_quality: JPEG quality of the compressed copy.
        max_pixels: Larger images fail as oversized (at most Pillow's own limit).
        image_workers: Images processed at once (the pool's size); the CPU count by
            default.
        image_executor: ``process`` (default: threads share the GIL with the event
            loop, see `examples.media_worker.pool`) or ``thread``.
        webhook_url: Where notifications are POSTed; none logs them instead. A secret,
            as webhook URLs often carry a token.
    """

    model_config = SettingsConfigDict(env_prefix="MEDIA_")

    service_name: str = Field(default="media-worker", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    storage_namespace: str = Field(default="media", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    analytics_namespace: str = Field(default="analytics", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    media_ttl: float = Field(default=24 * 3600.0, gt=0)
    analytics_ttl: float = Field(default=30 * 24 * 3600.0, gt=0)
    thumbnail_size: int = Field(default=320, ge=16, le=2048)
    thumbnail_quality: int = Field(default=80, ge=1, le=95)
    compressed_quality: int = Field(default=75, ge=1, le=95)
    max_pixels: int = Field(default=50_000_000, ge=1, le=_PILLOW_LIMIT)
    image_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=64)
    image_executor: Literal["thread", "process"] = "process"
    webhook_url: SecretStr | None = None

    @model_validator(mode="after")
    def _webhook_is_http(self) -> MediaWorkerSettings:
        if self.webhook_url is not None and not self.webhook_url.get_secret_value().startswith(
            ("http://", "https://")
        ):
            raise ValueError(f"{self.env_name('webhook_url')} must be an http:// or https:// URL")
        return self

    @property
    def image_options(self) -> ImageOptions:
        """The options `process_image` runs with."""
        return ImageOptions(
            thumbnail_size=self.thumbnail_size,
            thumbnail_quality=self.thumbnail_quality,
            compressed_quality=self.compressed_quality,
            max_pixels=self.max_pixels,
        )
