"""The how-to "Scale out a worker" holds: processes share a queue, and the settings it shows.

The processes run the tutorial's repository with what the how-to adds to it
(``thumbs/scaled.py`` and ``deploy/``), started by the documented commands.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import TYPE_CHECKING

import aio_pika
import pytest

from svckit.cache import Cache
from tests.tutorial._support import (
    AMQP_URL,
    STEP_TIMEOUT,
    TUTORIAL,
    Worker,
    argv,
    clean_environment,
    command,
    delete_queues,
    documented,
    new_repository,
    run,
)

if TYPE_CHECKING:
    from pathlib import Path

    from aio_pika.abc import AbstractQueue

REDIS_URL = "redis://127.0.0.1:6379/0"
IMAGES = 20


def env_file(path: Path) -> dict[str, str]:
    """The ``NAME=value`` lines of an env file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_kubernetes_manifest_agrees_with_the_production_settings() -> None:
    production = env_file(TUTORIAL / "deploy" / "production.env")
    manifest = (TUTORIAL / "deploy" / "kubernetes.yaml").read_text(encoding="utf-8")

    def manifest_value(name: str) -> str:
        match = re.search(rf"- name: {name}\n\s+value: \"?([^\"\s]+)", manifest)
        assert match, f"the manifest does not set {name}"
        return match.group(1)

    for name in ("THUMBS_ENVIRONMENT", "THUMBS_HEALTH_PORT", "THUMBS_SHUTDOWN_TIMEOUT"):
        assert manifest_value(name) == production[name], name
    # The kubelet probes the pod's address: the health port must listen on all of them.
    all_interfaces = "0.0.0.0"  # noqa: S104 - what the manifest must say, not a bind
    assert manifest_value("THUMBS_HEALTH_HOST") == production["THUMBS_HEALTH_HOST"]
    assert production["THUMBS_HEALTH_HOST"] == all_interfaces
    assert f"containerPort: {production['THUMBS_HEALTH_PORT']}" in manifest
    assert "httpGet: {path: /livez, port: health}" in manifest
    assert "httpGet: {path: /readyz, port: health}" in manifest
    grace = re.search(r"terminationGracePeriodSeconds: (\d+)", manifest)
    assert grace, "the manifest sets no grace period"
    # The drain must end before Kubernetes sends SIGKILL.
    assert int(grace.group(1)) > float(production["THUMBS_SHUTDOWN_TIMEOUT"])
    run_line = command("two-processes", "svckit", page="scaling")
    assert f"command: {json.dumps(documented(run_line, {})[1])}" in manifest


async def test_production_refuses_the_embedded_backends(tmp_path: Path) -> None:
    repo = new_repository(tmp_path, with_how_to=True)
    line = command("production-refused", "svckit", page="scaling")
    assignments, _ = documented(line, {})
    env = clean_environment(**assignments)

    code, output = await run(argv(line, env), cwd=repo, env=env)

    assert code == 78, output
    assert "THUMBS_BUS_URL" in output
    assert "THUMBS_CACHE_URL" in output


async def read_results(results: AbstractQueue, count: int) -> list[dict[str, object]]:
    """Read ``count`` ThumbnailReady events from the test's own queue."""
    bodies: list[dict[str, object]] = []
    async with asyncio.timeout(STEP_TIMEOUT), results.iterator() as messages:
        async for message in messages:
            await message.ack()
            bodies.append(json.loads(message.body))
            if len(bodies) == count:
                break
    return bodies


@pytest.mark.rabbitmq
@pytest.mark.redis
async def test_two_processes_share_the_queue_and_skip_duplicates(tmp_path: Path) -> None:
    repo = new_repository(tmp_path, with_how_to=True)
    # Production settings from the how-to's env file; the URLs point at this machine,
    # and the service name is this run's own (so are its queues and its Redis keys).
    (repo / ".env").write_text((repo / "deploy" / "production.env").read_text())
    service = f"thumbs-{uuid.uuid4().hex[:10]}"
    queue = f"{service}.make_thumbnail"
    env = clean_environment(
        THUMBS_SERVICE_NAME=service,
        THUMBS_BUS_URL=AMQP_URL,
        THUMBS_CACHE_URL=REDIS_URL,
        THUMBS_STORAGE_URL=REDIS_URL,
        THUMBS_HEALTH_HOST="127.0.0.1",
        THUMBS_HEALTH_PORT="0",
    )
    run_line = command("two-processes", "svckit", page="scaling")
    ids = [uuid.uuid4().hex for _ in range(IMAGES)]
    sentinel = uuid.uuid4().hex

    connection = await aio_pika.connect(AMQP_URL)
    try:
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(
                "svckit", aio_pika.ExchangeType.TOPIC, durable=True
            )
            results = await channel.declare_queue(exclusive=True)
            await results.bind(exchange, routing_key="image.thumbnail_ready")

            async def publish(image_id: str, message_id: str) -> None:
                body = {"image_id": image_id, "width": 640, "height": 480}
                await exchange.publish(
                    aio_pika.Message(
                        json.dumps(body).encode(),
                        message_id=message_id,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key="image.uploaded",
                )

            async def publish_all() -> None:
                for n, message_id in enumerate(ids):
                    await publish(f"img-{n}", message_id)

            async with (
                Worker(argv(run_line, env), cwd=repo, env=env) as one,
                Worker(argv(run_line, env), cwd=repo, env=env) as two,
            ):
                await one.wait_log("service started")
                await two.wait_log("service started")
                await publish_all()
                first = await read_results(results, IMAGES)
                codes = [await one.stop(), await two.stop()]

            # The same message ids again, as RabbitMQ redelivers them after a crash
            # between the work and the acknowledgement, to a process that has never
            # seen them: it finds them done in the inbox the processes share in Redis.
            async with Worker(argv(run_line, env), cwd=repo, env=env) as three:
                await three.wait_log("service started")
                await publish_all()
                # A new message behind them: one consumer gets the queue in order, so
                # once its result is out, every duplicate has reached the handler, and
                # the drain on SIGTERM lets the last ones finish.
                await publish("sentinel", sentinel)
                last = await read_results(results, 1)
                codes.append(await three.stop())

            left = await channel.declare_queue(queue, passive=True)
            extra = await results.get(fail=False)
    finally:
        await delete_queues([queue])
        async with Cache.from_url(REDIS_URL, namespace=service) as cache:
            await cache.clear()

    assert codes == [0, 0, 0]
    assert sorted(str(body["image_id"]) for body in first) == sorted(
        f"img-{n}" for n in range(IMAGES)
    )
    handled = [
        [entry["message_id"] for entry in worker.logs if entry.get("event") == "thumbnail ready"]
        for worker in (one, two, three)
    ]
    assert handled[0], "the first process took messages from the queue"
    assert handled[1], "the second process took messages from the queue"
    assert sorted(handled[0] + handled[1]) == sorted(ids), "each message went to one process"
    # Every duplicate was acknowledged, and none made a second thumbnail.
    assert last == [{"image_id": "sentinel", "width": 256, "height": 192}]
    assert handled[2] == [sentinel]
    assert left.declaration_result.message_count == 0
    assert extra is None
