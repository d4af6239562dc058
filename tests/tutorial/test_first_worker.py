"""The tutorial "Your first worker in a new repository" works as written.

Each test copies the tutorial's repository (``docs/examples/tutorial``) to a temporary
folder and runs the documented commands there: the reader's tests, the worker on the
embedded defaults, then the worker against RabbitMQ, fed and inspected as the page says.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import TYPE_CHECKING

import aio_pika
import httpx2 as httpx
import pytest

from tests.tutorial._support import (
    STEP_TIMEOUT,
    Worker,
    argv,
    clean_environment,
    command,
    commands,
    delete_queues,
    new_repository,
    run,
)

if TYPE_CHECKING:
    from pathlib import Path

    from aio_pika.abc import AbstractChannel, AbstractQueue


async def readyz(port: int) -> httpx.Response:
    async with httpx.AsyncClient(timeout=STEP_TIMEOUT) as client:
        return await client.get(f"http://127.0.0.1:{port}/readyz")


async def test_the_readers_tests_pass_without_rabbitmq_even_with_a_dotenv(tmp_path: Path) -> None:
    repo = new_repository(tmp_path)
    # Later the reader keeps a .env pointing at RabbitMQ: the tests must not need it.
    (repo / ".env").write_text((repo / ".env.example").read_text(encoding="utf-8"))
    env = clean_environment()
    [line] = commands("test")

    code, output = await run(argv(line, env), cwd=repo, env=env)

    written = (repo / "tests" / "test_service.py").read_text(encoding="utf-8")
    expected = len(re.findall(r"^async def test_", written, re.MULTILINE))
    summary = output.strip().splitlines()[-1]
    assert code == 0, output
    assert re.search(rf"\b{expected} passed\b", summary), summary
    assert not re.search(r"failed|error|skipped|warning", summary), summary


async def test_the_worker_runs_on_the_embedded_defaults(tmp_path: Path) -> None:
    repo = new_repository(tmp_path)
    # Port 0 instead of the documented 8081, so that parallel runs do not collide.
    env = clean_environment(THUMBS_HEALTH_PORT="0", THUMBS_LOG_FORMAT="json")

    async with Worker(argv(command("run", "svckit"), env), cwd=repo, env=env) as worker:
        listening = await worker.wait_log("health endpoints listening")
        started = await worker.wait_log("service started")
        response = await readyz(int(listening["port"]))
        code = await worker.stop()

    assert started["service"] == "thumbs"
    assert response.status_code == 200
    report = response.json()
    assert (report["service"], report["ready"]) == ("thumbs", True)
    assert report["checks"]["bus"] == {"status": "up", "detail": "embedded"}
    assert code == 0
    stopped = await worker.wait_log("service stopped")
    assert stopped["reason"] == "signal SIGTERM"


async def next_body(results: AbstractQueue, image_id: str) -> dict[str, object]:
    """The next ThumbnailReady event for ``image_id`` from the test's own queue."""
    async with asyncio.timeout(STEP_TIMEOUT), results.iterator() as messages:
        async for message in messages:
            await message.ack()
            body: dict[str, object] = json.loads(message.body)
            if body["image_id"] == image_id:
                return body
    raise AssertionError("unreachable: the iterator ends only by the timeout")


async def wait_for_dead_letter(channel: AbstractChannel, queue: str) -> None:
    """Wait until ``queue`` holds a dead letter (they are confirmed after the log line)."""
    async with asyncio.timeout(STEP_TIMEOUT):
        while True:
            declared = await channel.declare_queue(f"{queue}.dlq", passive=True)
            if declared.declaration_result.message_count:
                return
            await asyncio.sleep(0.02)


@pytest.mark.rabbitmq
async def test_the_worker_runs_against_rabbitmq(tmp_path: Path) -> None:
    repo = new_repository(tmp_path)
    # The reader keeps the broker URL in .env; the environment wins over it, which gives
    # this run a service (so queues) of its own and a free health port.
    (repo / ".env").write_text((repo / ".env.example").read_text(encoding="utf-8"))
    service = f"thumbs-{uuid.uuid4().hex[:10]}"
    queue = f"{service}.make_thumbnail"
    env = clean_environment(
        THUMBS_SERVICE_NAME=service, THUMBS_HEALTH_PORT="0", THUMBS_LOG_FORMAT="json"
    )
    [bus_url] = re.findall(r"^THUMBS_BUS_URL=(.+)$", (repo / ".env").read_text(), re.MULTILINE)
    photo, uploaded, huge = (f"{name}-{uuid.uuid4().hex[:8]}" for name in ("a", "b", "huge"))

    connection = await aio_pika.connect(bus_url)
    try:
        async with (
            connection,
            Worker(argv(command("dotenv", "svckit"), env), cwd=repo, env=env) as worker,
        ):
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(
                "svckit", aio_pika.ExchangeType.TOPIC, durable=True
            )
            # Bound before anything is published, so no result can pass by unseen.
            results = await channel.declare_queue(exclusive=True)
            await results.bind(exchange, routing_key="image.thumbnail_ready")

            listening = await worker.wait_log("health endpoints listening")
            started = await worker.wait_log("service started")
            response = await readyz(int(listening["port"]))

            # Another service, written with plain aio-pika, publishes plain JSON.
            await exchange.publish(
                aio_pika.Message(
                    json.dumps({"image_id": photo, "width": 4000, "height": 3000}).encode(),
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=uuid.uuid4().hex,
                ),
                routing_key="image.uploaded",
            )
            from_aio_pika = await next_body(results, photo)

            # The tutorial's own upload script, as the page runs it.
            upload = command("upload", "python").replace("photo-1", uploaded)
            code, upload_output = await run(argv(upload, env), cwd=repo, env=env)
            assert code == 0, upload_output
            from_script = await next_body(results, uploaded)

            # An image over the limit: rejected, so dead-lettered at once.
            reject = command("reject", "python").replace("huge", huge)
            code, reject_output = await run(argv(reject, env), cwd=repo, env=env)
            assert code == 0, reject_output
            rejected = await worker.wait_log("handler rejected the message", queue=queue)
            await wait_for_dead_letter(channel, queue)
            dlq = command("dlq", "svckit").replace("thumbs.make_thumbnail", queue)
            code, listing = await run(
                argv(dlq, env | {"THUMBS_BUS_URL": bus_url}), cwd=repo, env=env
            )
            assert code == 0, listing

            exit_code = await worker.stop()
    finally:
        await delete_queues([queue])

    assert started["service"] == service
    assert response.status_code == 200
    assert response.json()["checks"]["bus"]["status"] == "up"
    assert from_aio_pika == {"image_id": photo, "width": 256, "height": 192}
    assert f"published image.uploaded {uploaded}" in upload_output
    assert from_script == {"image_id": uploaded, "width": 256, "height": 192}
    assert rejected["reason"] == "100000x100000 is over 50000000 pixels"
    [row] = [line for line in listing.splitlines() if "image.uploaded" in line]
    assert "svckit.messaging.control.Reject: 100000x100000 is over 50000000 pixels" in row
    assert exit_code == 0
    stopped = await worker.wait_log("service stopped")
    assert (stopped["reason"], stopped["cut_off"]) == ("signal SIGTERM", 0)
