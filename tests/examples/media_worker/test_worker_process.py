"""The media worker as it runs in production: `svckit run` against RabbitMQ and Redis.

Fed by plain aio-pika publishes (as a service in another language would), checked in
the content store on Redis (where other services read statuses and outputs), and
stopped with SIGTERM in the middle of a batch: what it took is finished, what it did not
take waits in its queue, and a second run finishes the rest.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import aio_pika
import pytest
import redis.asyncio as redis

from examples.media_worker.storage import MediaStore
from tests._processes import svckit_run
from tests.examples.media_worker._images import jpeg
from tests.messaging._amqp_helpers import delete_topology, message_count

ROOT = Path(__file__).resolve().parents[3]
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
REDIS_URL = "redis://127.0.0.1:6379/0"
IMAGES = 12
TARGET = "examples.media_worker:MediaWorker"
CONSUMERS = ("process_media", "notify_user_created", "notify_user_updated", "analytics")


async def _states(store: MediaStore, ids: list[str]) -> dict[str, str | None]:
    states: dict[str, str | None] = {}
    for media_id in ids:
        status = await store.status(media_id)
        states[media_id] = None if status is None else status.state
    return states


@pytest.mark.rabbitmq
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_sigterm_mid_batch_drains_and_a_second_run_finishes_the_rest() -> None:
    suffix = uuid.uuid4().hex[:8]
    service = f"media-{suffix}"
    env = {
        "MEDIA_SERVICE_NAME": service,
        "MEDIA_BUS_URL": AMQP_URL,
        "MEDIA_CACHE_URL": REDIS_URL,
        "MEDIA_STORAGE_URL": REDIS_URL,
        "MEDIA_STORAGE_NAMESPACE": f"media-{suffix}",
        "MEDIA_ANALYTICS_NAMESPACE": f"analytics-{suffix}",
        "MEDIA_HEALTH_PORT": "0",
        "MEDIA_LOG_FORMAT": "json",
        "MEDIA_IMAGE_WORKERS": "2",
        "MEDIA_SHUTDOWN_TIMEOUT": "40",
    }
    queue = f"{service}.process_media"
    store = MediaStore.from_url(REDIS_URL, prefix=f"media-{suffix}")
    connection = await aio_pika.connect(AMQP_URL)
    try:
        async with store, connection:
            photo = jpeg((2400, 1800))
            ids = [await store.put_original(photo) for _ in range(IMAGES)]
            channel = await connection.channel(publisher_confirms=True)

            async with svckit_run(TARGET, env, cwd=ROOT) as first:
                await first.wait_log("service started")
                exchange = await channel.get_exchange("svckit")
                for media_id in ids:
                    await exchange.publish(
                        aio_pika.Message(
                            json.dumps({"media_id": media_id, "user_id": 7}).encode(),
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                            message_id=f"process-{media_id}",
                            content_type="application/json",
                        ),
                        routing_key="media.process",
                    )

                async def first_done() -> bool:
                    return "done" in (await _states(store, ids)).values()

                await _eventually(first_done, "a first image processed")
                assert await first.stop() == 0, first.logs[-5:]
            report = first.log("service stopped")
            assert report is not None
            assert report["cut_off"] == 0, "everything the worker held was finished"

            states = await _states(store, ids)
            done = [m for m, state in states.items() if state == "done"]
            assert "processing" not in states.values(), "no image left half-done"
            assert len(done) + await message_count(queue) == IMAGES, "nothing lost"

            async with svckit_run(TARGET, env, cwd=ROOT) as second:
                await second.wait_log("service started")

                async def all_done() -> bool:
                    return set((await _states(store, ids)).values()) == {"done"}

                await _eventually(all_done, "every image processed", timeout=90)
                assert await second.stop() == 0

            for media_id in ids:
                thumbnail = await store.thumbnail(media_id)
                assert thumbnail is not None
                assert thumbnail.startswith(b"\xff\xd8"), "a JPEG thumbnail in Redis"
    finally:
        await delete_topology(
            "svckit-unused-" + suffix,
            [f"{service}.{name}{tail}" for name in CONSUMERS for tail in ("", ".dlq")],
            with_delay_queues_of=[f"{service}.{name}" for name in CONSUMERS],
        )
        client = redis.from_url(REDIS_URL)
        async with client:
            # The content, the analytics counters, and the service's cache (its inbox).
            patterns = (f"content/media-{suffix}/*", f"analytics-{suffix}:*", f"{service}:*")
            for pattern in patterns:
                keys = [key async for key in client.scan_iter(pattern)]
                if keys:
                    await client.delete(*keys)


async def _eventually(check: object, what: str, timeout: float = 60) -> None:
    assert callable(check)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
