"""``svckit run``: loading targets, exit codes, and a real worker process drained by SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from typing import TYPE_CHECKING

import aio_pika
import pytest

from svckit.cli import main
from tests.messaging.conftest import AMQP_URL

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

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


class Worker:
    """A `svckit run` child process whose stdout lines and JSON log lines can be awaited."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self.logs: list[dict[str, object]] = []
        self._log_changed = asyncio.Condition()
        self._pump = asyncio.create_task(self._read_logs())

    async def _read_logs(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            try:
                entry = json.loads(raw)
            except ValueError:
                entry = {"event": raw.decode(errors="replace").strip()}
            async with self._log_changed:
                self.logs.append(entry)
                self._log_changed.notify_all()

    async def wait_log(self, event: str, timeout: float = 20) -> dict[str, object]:
        async with asyncio.timeout(timeout), self._log_changed:
            await self._log_changed.wait_for(
                lambda: any(e.get("event") == event for e in self.logs)
            )
        return next(e for e in self.logs if e.get("event") == event)

    async def finish(self) -> None:
        await self.process.wait()
        await self._pump

    async def wait_line(self, predicate: str, timeout: float = 20) -> str:
        assert self.process.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.process.stdout.readline()
                if not raw:
                    pytest.fail(f"the worker exited before printing {predicate!r}")
                line = raw.decode().strip()
                self.lines.append(line)
                if predicate in line:
                    return line


@contextlib.asynccontextmanager
async def run_worker(queue_env: dict[str, str]) -> AsyncIterator[Worker]:
    env = {**os.environ, **queue_env, "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "svckit",
        "run",
        f"{SAMPLES}:SlowWorker",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    worker = Worker(process)
    try:
        yield worker
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


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
            async with run_worker(env) as worker:
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
                worker.process.send_signal(signal.SIGTERM)
                assert worker.process.stdout is not None
                async with asyncio.timeout(40):
                    out = await worker.process.stdout.read()
                    await worker.finish()
                lines = worker.lines + out.decode().splitlines()
                assert worker.process.returncode == 0, worker.logs[-5:]
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
