"""The worker as a whole: settings, resources, the demo, and Redis as the store."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
import redis.asyncio as redis
from PIL import Image
from pydantic import ValidationError

from examples.media_worker import MediaWorker, MediaWorkerSettings
from examples.media_worker.analytics import AnalyticsReader
from examples.media_worker.demo import run_demo
from examples.media_worker.imaging import process_image
from examples.media_worker.messages import MediaProcessed, UserCreated
from examples.media_worker.notifications import LogNotifier, WebhookNotifier
from examples.media_worker.storage import MediaState, MediaStore, submit
from svckit import ConfigurationError
from tests.examples.media_worker._images import sideways_jpeg
from tests.examples.media_worker._support import worker_settings

if TYPE_CHECKING:
    from pathlib import Path

    from tests.examples.media_worker._support import StartWorker

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_settings_come_from_media_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIA_THUMBNAIL_SIZE", "128")
    monkeypatch.setenv("MEDIA_IMAGE_WORKERS", "3")
    settings = MediaWorkerSettings()
    assert settings.thumbnail_size == 128
    assert settings.image_workers == 3
    assert settings.image_options.thumbnail_size == 128
    assert settings.service_name == "media-worker"


def test_max_pixels_cannot_exceed_pillows_limit() -> None:
    limit = Image.MAX_IMAGE_PIXELS
    assert limit is not None
    with pytest.raises(ValidationError, match="max_pixels"):
        MediaWorkerSettings(max_pixels=limit + 1)


def test_a_webhook_url_must_be_http() -> None:
    with pytest.raises(ValidationError, match="MEDIA_WEBHOOK_URL must be an http"):
        MediaWorkerSettings(webhook_url="ftp://example.com/hook")


def test_production_refuses_the_embedded_backends() -> None:
    with pytest.raises(ConfigurationError, match="MEDIA_BUS_URL"):
        MediaWorkerSettings(environment="production")


def test_the_notifier_is_the_log_unless_a_webhook_is_set() -> None:
    assert isinstance(MediaWorker(worker_settings()).notifier, LogNotifier)
    worker = MediaWorker(worker_settings(webhook_url="https://hooks.example.com/a/b?token=x"))
    assert isinstance(worker.notifier, WebhookNotifier)
    assert worker.notifier.path == "/a/b?token=x"
    assert [r.name for r in worker.resources()] == [
        "cache",
        "storage",
        "bus",
        "images",
        "webhook",
    ]


async def test_the_image_pool_opens_and_closes_with_the_worker(
    start_worker: StartWorker,
) -> None:
    harness = await start_worker()
    report = await harness.service.health_report()
    assert report.checks["images"].status == "up"
    await harness.__aexit__(None, None, None)
    assert (await harness.service.images.health()).status == "down"


async def test_the_demo_takes_the_sample_end_to_end(tmp_path: Path) -> None:
    lines: list[str] = []
    assert await run_demo(say=lines.append, out=tmp_path) == 0
    story = "\n".join(lines)
    assert "sample.jpg: done; JPEG 480x640 RGB, EXIF orientation 6 applied" in story
    assert "the damaged upload: failed (truncated)" in story
    assert "notification to user 1: 'Welcome, Ada!'" in story
    assert written_thumbnail_size(tmp_path) == (240, 320)


async def delete_keys(prefix: str) -> None:
    client = redis.from_url(REDIS_URL)
    async with client:
        keys = [key async for key in client.scan_iter(f"{prefix}*")]
        if keys:
            await client.delete(*keys)


def written_thumbnail_size(directory: Path) -> tuple[int, int]:
    [thumbnail] = directory.glob("*-thumbnail.jpg")
    with Image.open(thumbnail) as picture:
        return picture.size


@pytest.mark.redis
async def test_outputs_and_counters_round_trip_through_redis(start_worker: StartWorker) -> None:
    suffix = uuid.uuid4().hex[:10]
    harness = await start_worker(
        cache_url=REDIS_URL,
        storage_url=REDIS_URL,
        service_name=f"mw-{suffix}",
        storage_namespace=f"media-{suffix}",
        analytics_namespace=f"analytics-{suffix}",
    )
    worker = harness.service
    producer = MediaStore.from_url(REDIS_URL, prefix=f"media-{suffix}")
    reader = AnalyticsReader.from_url(REDIS_URL, namespace=f"analytics-{suffix}")
    async with producer, reader:
        try:
            data = sideways_jpeg()
            # The producer is another process in real life: its own client, same namespace.
            media_id = await submit(producer, worker.bus, data, user_id=11)
            await harness.publish(UserCreated(user_id=11, email="grace@example.com"))
            await harness.wait_idle()
            expected = process_image(data, worker.settings.image_options)
            status = await producer.status(media_id)
            assert status is not None
            assert status.state is MediaState.DONE
            assert await producer.thumbnail(media_id) == expected.thumbnail
            assert await producer.compressed(media_id) == expected.compressed
            assert [e.media_id for e in harness.published(MediaProcessed)] == [media_id]
            assert await reader.user(11) == {
                "media.process": 1,
                "media.processed": 1,
                "user.created": 1,
            }
        finally:
            await delete_keys(f"content/media-{suffix}/")
            await reader.cache.clear()
            await worker.cache.clear()
