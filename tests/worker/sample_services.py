"""Services the worker tests run (importable, so that `svckit run` can load them)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pydantic_settings import SettingsConfigDict

from svckit import RetryPolicy
from svckit.messaging import Event, Incoming
from svckit.worker import ConsumerRouter, WorkerService, WorkerSettings, consumer

if TYPE_CHECKING:
    from svckit.cache import Cache


class MediaUploaded(Event, topic="media.uploaded"):
    key: str


class ThumbnailReady(Event, topic="media.thumbnail_ready"):
    key: str
    size: int


class ThumbSettings(WorkerSettings):
    model_config = SettingsConfigDict(env_prefix="THUMBS_")

    service_name: str = "thumbs"
    thumbnail_size: int = 128


stats = ConsumerRouter(prefix="stats_")


@stats.consumer("media.#")
async def count(event: dict[str, object], incoming: Incoming, *, cache: Cache) -> None:
    del event
    await cache.hincr("events", incoming.topic)


class Thumbnails(WorkerService):
    """Makes (pretend) thumbnails and counts media events through a router."""

    settings: ThumbSettings
    routers = (stats,)

    @consumer(retry=RetryPolicy(attempts=2, initial_delay=0.01))
    async def make_thumbnail(self, event: MediaUploaded) -> None:
        if event.key == "broken":
            raise ValueError("cannot decode broken")
        await self.publish(ThumbnailReady(key=event.key, size=self.settings.thumbnail_size))


class SlowSettings(WorkerSettings):
    model_config = SettingsConfigDict(env_prefix="SLOW_")

    service_name: str = "slow"
    work_seconds: float = 0.5


class SlowWorker(WorkerService):
    """Takes a while per message: for shutdown tests. Prints a line per finished job."""

    settings: SlowSettings

    @consumer("jobs.#", prefetch=10)
    async def work(self, job: dict[str, int]) -> None:
        print(f"started {job['n']}", flush=True)  # noqa: T201 - the test reads stdout
        await asyncio.sleep(self.settings.work_seconds)  # the work itself, not a wait
        await self.cache.incr("done")
        print(f"finished {job['n']}", flush=True)  # noqa: T201


class NotAService:
    """For the bad-target test."""
