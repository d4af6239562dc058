"""Run the fuzz worker as ``svckit run`` on the real RabbitMQ and account for every message.

`run_fuzz` sets a policy giving the run's queues a delivery limit of 20 (RabbitMQ 4's
default), starts the worker with its JSON log in a file, watches ``/readyz`` all along,
publishes the samples with the foreign client of `_raw_amqp`, waits until every accepted
message was handled or dead-lettered (or a deadline passed), checks that nothing is left
ready or unacknowledged, takes the dead letters, stops the worker and deletes everything
it made. `Outcome.failures` (in `_fuzz_outcome`) then says what went wrong, by kind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._amqp_helpers import AMQP_URL, rabbitmqctl, wait_until
from ._fuzz_cases import KINDS, Sample
from ._fuzz_outcome import Letter, Outcome, entries
from ._raw_amqp import ConnectionClosedError, RawAmqp

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

ROOT = Path(__file__).resolve().parents[2]
TARGET = "tests.messaging._fuzz_worker:FuzzWorker"
DELIVERY_LIMIT = 20


class Readiness:
    """Polls ``/readyz`` every 50 ms and adds up the time it was not ready (or did not answer)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.unready_s = 0.0
        self.samples = 0

    async def ready(self) -> bool:
        try:
            async with asyncio.timeout(1):  # what an orchestrator's probe waits by default
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                try:
                    writer.write(
                        b"GET /readyz HTTP/1.1\r\nHost: worker\r\nConnection: close\r\n\r\n"
                    )
                    status = await reader.readline()
                finally:
                    # Also when the probe is cut off (a timeout, the watch cancelled).
                    writer.close()
                return b" 200 " in status
        except (OSError, TimeoutError):
            return False

    async def watch(self) -> None:
        last = time.monotonic()
        while True:
            ok = await self.ready()
            now = time.monotonic()
            self.samples += 1
            if not ok:
                self.unready_s += now - last
            last = now
            await asyncio.sleep(0.05)


async def _log_entry(log: Path, event: str, process: asyncio.subprocess.Process) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def logged() -> bool:
        text = _read_text(log)
        if process.returncode is not None:
            raise AssertionError(f"the worker exited: {text[-3000:]}")
        entry = next((e for e in entries(text) if e.get("event") == event), None)
        found.update(entry or {})
        return entry is not None

    await wait_until(logged, timeout=30, what=f"the worker's log line {event!r}", interval=0.05)
    return found


@contextlib.asynccontextmanager
async def _worker(workdir: Path, service: str, exchange: str) -> AsyncIterator[Any]:
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "FUZZ_SERVICE_NAME": service,
        "FUZZ_EXCHANGE": exchange,
        "FUZZ_BUS_URL": AMQP_URL,
        "FUZZ_HEALTH_PORT": "0",
        "FUZZ_LOG_FORMAT": "json",
        "FUZZ_LOG_LEVEL": "INFO",
        "FUZZ_SHUTDOWN_TIMEOUT": "10",
        "FUZZ_RECORD_PATH": str(workdir / "handled.jsonl"),
        "FUZZ_LAG_PATH": str(workdir / "lag.json"),
    }
    with (workdir / "worker.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "svckit", "run", TARGET,
            cwd=ROOT, env=env, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def _read_text(path: Path) -> str:
    return path.read_text(errors="replace")


def _read_handled(path: Path, outcome: Outcome) -> None:
    outcome.handled.clear()
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["seq"] is not None:
            outcome.handled[record["seq"]] += 1
            if record["redelivered"] or (record["delivery_count"] or 0) > 0:
                outcome.handled_again.add(record["seq"])


async def _publish(samples: list[Sample], exchange: str, outcome: Outcome) -> None:
    client = await RawAmqp.connect()
    try:
        for sample in samples:
            try:
                refusal = await client.publish(
                    exchange, sample.routing_key, sample.body, sample.properties
                )
            except ConnectionClosedError as exc:
                refusal = f"connection closed: {exc}"
                client = await RawAmqp.connect()
            if refusal is not None:
                outcome.refused[sample.seq] = refusal
    finally:
        await client.close()


async def _queues(prefix: str) -> dict[str, tuple[int, int]]:
    await rabbitmqctl("await_startup")
    output = await rabbitmqctl(
        "list_queues", "--quiet", "--no-table-headers", "name", "messages_ready",
        "messages_unacknowledged",
    )  # fmt: skip
    found = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(prefix):
            found[parts[0]] = (int(parts[1]), int(parts[2]))
    return found


async def _settle(service: str, outcome: Outcome, workdir: Path, timeout: float) -> None:
    """Wait until each accepted message was handled or dead-lettered and no queue holds any."""
    client = await RawAmqp.connect()
    expected = {s.seq for s in outcome.accepted}

    async def settled() -> bool:
        _read_handled(workdir / "handled.jsonl", outcome)
        counts = [await client.message_count(f"{service}.{kind}.dlq") for kind in KINDS]
        ready = [await client.message_count(f"{service}.{kind}") for kind in KINDS]
        handled = len(expected & set(outcome.handled))
        return handled + sum(c or 0 for c in counts) >= len(expected) and not any(ready)

    with contextlib.suppress(pytest.fail.Exception):  # the checks below say what is missing
        await wait_until(settled, timeout=timeout, what="every message settled", interval=0.1)
    await client.close()

    async def nothing_left() -> bool:
        outcome.left = await _queues(f"{service}.")
        return not any(any(counts) for name, counts in outcome.left.items() if ".dlq" not in name)

    with contextlib.suppress(pytest.fail.Exception):
        await wait_until(nothing_left, timeout=10, what="no message left", interval=0.2)
    outcome.left = {k: v for k, v in outcome.left.items() if ".dlq" not in k}


async def _take_letters(service: str, outcome: Outcome) -> None:
    client = await RawAmqp.connect()
    try:
        for kind in KINDS:
            while (message := await client.get(f"{service}.{kind}.dlq")) is not None:
                letter = Letter.read(message.headers)
                outcome.letters.setdefault(letter.seq, []).append(letter)
    finally:
        await client.close()


async def _clean_up(service: str, exchange: str, policy: str) -> None:
    with contextlib.suppress(pytest.fail.Exception):
        await rabbitmqctl("clear_policy", policy)
    client = await RawAmqp.connect()
    try:
        for name in await _queues(f"{service}."):
            with contextlib.suppress(ConnectionClosedError):
                await client.delete_queue(name)
        with contextlib.suppress(ConnectionClosedError):
            await client.delete_exchange(exchange)
    finally:
        await client.close()


async def run_fuzz(samples: list[Sample], workdir: Path, *, settle_timeout: float) -> Outcome:
    """Send ``samples`` to a fresh `svckit run` worker and see what became of each."""
    started = time.monotonic()
    service = f"fuzz-{uuid.uuid4().hex[:10]}"
    exchange, policy = f"{service}-ex", f"{service}-limit"
    outcome = Outcome(samples)
    await rabbitmqctl("await_startup")  # the broker is shared: a test may be restarting it
    await rabbitmqctl(
        "set_policy", "--apply-to", "queues", "--priority", "10", policy,
        f"^{re.escape(service)}\\.", json.dumps({"delivery-limit": DELIVERY_LIMIT}),
    )  # fmt: skip
    try:
        async with _worker(workdir, service, exchange) as process:
            entry = await _log_entry(workdir / "worker.log", "health endpoints listening", process)
            await _log_entry(workdir / "worker.log", "service started", process)
            readiness = Readiness(int(entry["port"]))
            await wait_until(readiness.ready, timeout=30, what="the worker ready")
            watcher = asyncio.get_running_loop().create_task(readiness.watch())
            try:
                await _publish(samples, exchange, outcome)
                await _settle(service, outcome, workdir, settle_timeout)
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher  # its probe's connection is closed before the test ends
                outcome.unready_s = readiness.unready_s
            await _take_letters(service, outcome)
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(30):
                    outcome.exit_code = await process.wait()
        _read_handled(workdir / "handled.jsonl", outcome)
        outcome.log = (workdir / "worker.log").read_bytes()
        lag = workdir / "lag.json"
        if lag.exists():
            outcome.max_lag_s = json.loads(lag.read_text())["max_lag_s"]
    finally:
        await _clean_up(service, exchange, policy)
    outcome.seconds = time.monotonic() - started
    return outcome
