"""Run the fuzz worker as ``svckit run`` on the real RabbitMQ and account for every message.

`run_fuzz` sets a policy giving the run's queues a delivery limit of 20 (RabbitMQ 4's
default), starts the worker with its JSON log in a file, watches ``/readyz`` all along,
publishes the samples with the foreign client of `_raw_amqp`, waits until every accepted
message was handled or dead-lettered (or a deadline passed), checks that nothing is left
ready or unacknowledged, takes the dead letters, stops the worker and deletes everything
it made. `Outcome.failures` then says what went wrong, grouped by kind of failure.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import re
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._amqp_helpers import AMQP_URL, rabbitmqctl, wait_until
from ._fuzz_cases import KINDS, Sample
from ._raw_amqp import ConnectionClosedError, RawAmqp

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

ROOT = Path(__file__).resolve().parents[2]
TARGET = "tests.messaging._fuzz_worker:FuzzWorker"
#: The longest log line accepted: values svckit logs must be bounded.
LOG_LINE_LIMIT = 16_384
DELIVERY_LIMIT = 20


@dataclass
class Letter:
    """A dead letter, as far as the test cares."""

    seq: int | None
    error_type: str | None  # svckit's x-svckit-error-type; None: the broker dead-lettered it
    delivery_count: int
    error_text: str  # svckit's error headers, for the secret check

    @classmethod
    def read(cls, headers: dict[Any, Any]) -> Letter:
        """Read the headers of a message taken from a dead-letter queue."""
        topic = headers.get("x-svckit-routing-key")
        deaths = headers.get("x-death")
        if not isinstance(topic, str) and isinstance(deaths, list) and deaths:
            keys = deaths[0].get("routing-keys") if isinstance(deaths[0], dict) else None
            topic = keys[0] if isinstance(keys, list) and keys else None
        seq = str(topic).rpartition(".")[2] if isinstance(topic, str) else ""
        error = headers.get("x-svckit-error-type")
        count = headers.get("x-delivery-count")
        text = " ".join(
            str(v)
            for k, v in headers.items()
            if isinstance(k, str) and k.startswith("x-svckit-error")
        )
        return cls(
            int(seq) if seq.isdigit() else None,
            str(error) if error is not None else None,
            count if isinstance(count, int) else 0,
            text,
        )


@dataclass
class Outcome:
    """Everything seen in one run."""

    samples: list[Sample]
    refused: dict[int, str] = field(default_factory=dict)
    handled: collections.Counter[int] = field(default_factory=collections.Counter)
    handled_again: set[int] = field(default_factory=set)
    letters: dict[int | None, list[Letter]] = field(default_factory=dict)
    left: dict[str, tuple[int, int]] = field(default_factory=dict)
    unready_s: float = 0.0
    log: bytes = b""
    max_lag_s: float | None = None
    exit_code: int | None = None
    seconds: float = 0.0

    @property
    def accepted(self) -> list[Sample]:
        """The samples the broker took (it refuses a few, such as a bad user id)."""
        return [s for s in self.samples if s.seq not in self.refused]

    def failures(self, secret: str) -> dict[str, list[str]]:
        """What went wrong, by kind; each entry names the message and its tags."""
        found: dict[str, list[str]] = collections.defaultdict(list)
        for sample in self.accepted:
            for kind in self._message_failures(sample, secret):
                found[kind].append(f"{sample.routing_key} {sample.tags}")
        for seq, letters in self.letters.items():
            if seq is None or seq in self.refused:
                found["dead letter of no published message"].extend(str(x) for x in letters)
        found["left in a queue (ready, unacknowledged)"] = [
            f"{name} {counts}" for name, counts in self.left.items() if any(counts)
        ]
        if self.unready_s > 0:
            found["readiness false"].append(f"{self.unready_s:.1f} s")
        if self.exit_code not in {0, None}:
            found["worker exit"].append(f"exit code {self.exit_code}")
        _log_failures(self.log.decode(errors="replace"), secret, found)
        return {kind: entries for kind, entries in found.items() if entries}

    def _message_failures(self, sample: Sample, secret: str) -> list[str]:
        letters = self.letters.get(sample.seq, [])
        handled = self.handled[sample.seq]
        checks = {
            "lost: neither handled nor dead-lettered": not handled and not letters,
            "dead-lettered by the broker (delivery limit), not by svckit": any(
                letter.error_type is None for letter in letters
            ),
            "dead-lettered by svckit, but not at its first delivery": any(
                letter.delivery_count > 0 for letter in letters if letter.error_type
            ),
            "handled on a redelivery": sample.seq in self.handled_again,
            "handled more than once, or handled and dead-lettered": handled > 1
            or bool(handled and letters),
            "valid message dead-lettered": sample.expect == "handled" and not handled,
            "failing handler's message handled": sample.expect == "dead-lettered" and handled > 0,
            "secret in a dead letter's error headers": any(
                secret in letter.error_text for letter in letters
            ),
        }
        return [kind for kind, failed in checks.items() if failed]

    def figures(self) -> dict[str, object]:
        """The counts the benchmark prints."""
        accepted = self.accepted
        dead = {s.seq for s in accepted if any(x.error_type for x in self.letters.get(s.seq, []))}
        looped = {
            s.seq
            for s in accepted
            if s.seq in self.handled_again
            or any(
                x.delivery_count > 0 or x.error_type is None for x in self.letters.get(s.seq, [])
            )
        }
        return {
            "messages": len(self.samples),
            "refused_by_broker": len(self.refused),
            "handled": sum(1 for s in accepted if self.handled[s.seq]),
            "dead_lettered": len(dead),
            "lost": sum(
                1 for s in accepted if not self.handled[s.seq] and s.seq not in self.letters
            ),
            "looped": len(looped),
            "readiness_false_s": round(self.unready_s, 2),
            "log_bytes": len(self.log),
            "max_loop_lag_s": self.max_lag_s,
            "seconds": round(self.seconds, 1),
        }


def _log_failures(log: str, secret: str, found: dict[str, list[str]]) -> None:
    if secret in log:
        found["secret in the log"].append(f"{log.count(secret)} times")
    long_lines = [line for line in log.splitlines() if len(line) > LOG_LINE_LIMIT]
    if long_lines:
        found[f"log lines over {LOG_LINE_LIMIT} characters"].append(
            f"{len(long_lines)} lines, the longest {max(map(len, long_lines))}"
        )
    for text in ("Task was destroyed but it is pending", "Traceback (most recent call last)"):
        if text in log and not _inside_json(log, text):
            found["unstructured error output in the log"].append(text)
    errors = collections.Counter(
        str(entry.get("event", ""))[:80]
        for entry in _entries(log)
        # A handler's failure is the user's error, logged as such; any other is svckit's.
        if entry.get("level") == "error"
        and not str(entry.get("event", "")).startswith("handler failed")
    )
    found["errors logged"].extend(f"{count} x {event}" for event, count in errors.items())


def _entries(log: str) -> list[dict[str, Any]]:
    entries = []
    for line in log.splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict):
                entries.append(entry)
    return entries


def _inside_json(log: str, text: str) -> bool:
    """Whether every line holding ``text`` is a JSON log line (a logged traceback is fine)."""
    return all(line.startswith("{") for line in log.splitlines() if text in line)


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
                writer.write(b"GET /readyz HTTP/1.1\r\nHost: worker\r\nConnection: close\r\n\r\n")
                status = await reader.readline()
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
        entry = next((e for e in _entries(text) if e.get("event") == event), None)
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
