"""``svckit run``: loading targets, exit codes, and a real worker process drained by SIGTERM."""

from __future__ import annotations

import contextlib
import json
import uuid

import aio_pika
import pytest

from svckit.cli import main
from tests._processes import svckit_run
from tests.messaging.conftest import AMQP_URL

SAMPLES = "tests.worker.sample_services"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_colon_here", "is not module:Class"),
        ("no_such_module_xyz:Worker", "cannot import module 'no_such_module_xyz'"),
        (f"{SAMPLES}:Missing", f"module '{SAMPLES}' has no attribute 'Missing'"),
        (f"{SAMPLES}:NotAService", "is not a svckit Service subclass"),
    ],
)
def test_a_bad_target_says_what_is_wrong(
    target: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", target]) == 2
    assert message in capsys.readouterr().err


def test_invalid_settings_exit_with_ex_config(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("THUMBS_THUMBNAIL_SIZE", "large")
    assert main(["run", f"{SAMPLES}:Thumbnails"]) == 78
    assert "thumbnail_size" in capsys.readouterr().err


def test_production_on_embedded_backends_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("THUMBS_ENVIRONMENT", "production")
    assert main(["run", f"{SAMPLES}:Thumbnails"]) == 78
    err = capsys.readouterr().err
    assert "THUMBS_BUS_URL" in err
    assert "THUMBS_CACHE_URL" in err


@pytest.mark.rabbitmq
@pytest.mark.timeout(90)
async def test_sigterm_mid_batch_drains_and_loses_nothing() -> None:
    suffix = uuid.uuid4().hex[:8]
    service = f"slow-{suffix}"
    queue = f"{service}.work"
    env = {
        "SLOW_SERVICE_NAME": service,
        "SLOW_BUS_URL": AMQP_URL,
        "SLOW_HEALTH_PORT": "0",
        "SLOW_WORK_SECONDS": "0.4",
        "SLOW_SHUTDOWN_TIMEOUT": "20",
        "SLOW_LOG_FORMAT": "json",
    }
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        try:
            async with svckit_run(f"{SAMPLES}:SlowWorker", env) as worker:
                # Once started, the worker's queue is declared and bound: publish to it.
                await worker.wait_log("service started")
                exchange_obj = await channel.get_exchange("svckit")
                for n in range(30):
                    await exchange_obj.publish(
                        aio_pika.Message(
                            json.dumps({"n": n}).encode(),
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        ),
                        routing_key="jobs.resize",
                    )
                await worker.wait_line("started")
                assert await worker.stop(timeout=40) == 0, worker.logs[-5:]
                lines = worker.lines
            started = {line.split()[1] for line in lines if line.startswith("started")}
            finished = {line.split()[1] for line in lines if line.startswith("finished")}
            assert started, "the worker took messages before the signal"
            assert started == finished, "every message taken was finished before exit"
            report = await worker.wait_log("service stopped")
            assert report["drained"] == len(started)
            assert report["cut_off"] == 0
            left = (await channel.declare_queue(queue, passive=True)).declaration_result
            assert (left.message_count or 0) + len(finished) == 30, "nothing lost"
        finally:
            for name in (queue, f"{queue}.dlq"):
                with contextlib.suppress(Exception):
                    await channel.queue_delete(name)
