"""The worker the fuzz test runs as ``svckit run tests.messaging._fuzz_worker:FuzzWorker``.

Three consumers on the exchange ``FUZZ_EXCHANGE``, one per kind of message type a handler
can take: a model (``model.#``), a dict (``dict.#``) and bytes (``bytes.#``). The test
puts a message's sequence number in its routing key (``model.17``), the one value a
foreign client cannot make unreadable, and each handler that finishes writes a JSON line
to ``FUZZ_RECORD_PATH``: the seq, the consumer, and whether the broker had delivered the
message before (``redelivered``, ``x-delivery-count``).

A body that asks for it (``{"fail": "..."}``, or ``FAIL:...`` for bytes) makes the handler
raise with that text, which the test fills with planted secrets.

The process also measures its own event loop: a timer every 10 ms notes how late it
fired, and the worst lateness is written to ``FUZZ_LAG_PATH`` every second and at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from typing import TYPE_CHECKING, Any, Self

from pydantic_settings import SettingsConfigDict

from svckit import RetryPolicy
from svckit.core.health import Health
from svckit.messaging import Bus, Event, Incoming
from svckit.worker import WorkerService, WorkerSettings, consumer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from svckit.core.resource import Resource

#: Handler failures are tried twice (the second try comes through a delay queue).
RETRY = RetryPolicy(attempts=2, initial_delay=0.01, jitter=0, deadline=300)
PREFETCH = 20
TICK = 0.01


class FuzzJob(Event, topic="model.job"):
    """What the model consumer takes."""

    seq: int
    note: str = ""
    fail: str | None = None


class FuzzSettings(WorkerSettings):
    """The worker's settings, read from ``FUZZ_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="FUZZ_")

    service_name: str = "fuzz"
    exchange: str = "fuzz"
    record_path: str = os.devnull
    lag_path: str = os.devnull


class LoopLag:
    """A resource that measures how late a 10 ms timer fires on the service's loop."""

    name = "loop-lag"

    def __init__(self, path: str) -> None:
        """Write the figures to ``path``."""
        self.path = path
        self.worst = 0.0
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        """Start the timer."""
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the timer and write the figures."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._write()

    async def health(self) -> Health:
        """Always up: it only watches."""
        return Health.up()

    async def _watch(self) -> None:
        last_write = time.monotonic()
        while True:
            before = time.monotonic()
            await asyncio.sleep(TICK)
            now = time.monotonic()
            self.worst = max(self.worst, now - before - TICK)
            self.ticks += 1
            if now - last_write >= 1:
                self._write()
                last_write = now

    def _write(self) -> None:
        figures = {"max_lag_s": round(self.worst, 4), "ticks": self.ticks}
        with open(self.path, "w") as out:  # noqa: PTH123 - a few bytes, once a second
            json.dump(figures, out)


class FuzzWorker(WorkerService):
    """Handles what it can and records it; svckit dead-letters the rest."""

    settings: FuzzSettings

    def __init__(self, settings: FuzzSettings | None = None) -> None:
        """Build the bus on the test's own exchange."""
        settings = settings or FuzzSettings()
        bus = Bus(
            settings.bus_url.get_secret_value(),
            service=settings.service_name,
            exchange=settings.exchange,
        )
        super().__init__(settings, bus=bus)
        self.lag = LoopLag(settings.lag_path)
        self._records = open(settings.record_path, "a")  # noqa: PTH123, SIM115 - closed by the OS at exit

    def resources(self) -> Sequence[Resource]:
        """The lag monitor first, so that it watches until the very end."""
        return [self.lag, *super().resources()]

    def record(self, kind: str, incoming: Incoming) -> None:
        """Note that a handler of ``kind`` finished the message."""
        seq = incoming.topic.rpartition(".")[2]
        count = incoming.headers.get("x-delivery-count")
        line = {
            "seq": int(seq) if seq.isdigit() else None,
            "kind": kind,
            "redelivered": incoming.redelivered,
            "delivery_count": count if isinstance(count, int) else None,
        }
        self._records.write(json.dumps(line) + "\n")
        self._records.flush()

    @consumer("model.#", name="model", retry=RETRY, prefetch=PREFETCH)
    async def take_model(self, job: FuzzJob, incoming: Incoming) -> None:
        """A pydantic model."""
        if job.fail is not None:
            raise RuntimeError(job.fail)
        self.record("model", incoming)

    @consumer("dict.#", name="dict", retry=RETRY, prefetch=PREFETCH)
    async def take_dict(self, body: dict[str, Any], incoming: Incoming) -> None:
        """Any JSON object."""
        if "fail" in body:
            raise RuntimeError(str(body["fail"]))
        self.record("dict", incoming)

    @consumer("bytes.#", name="bytes", retry=RETRY, prefetch=PREFETCH)
    async def take_bytes(self, body: bytes, incoming: Incoming) -> None:
        """The raw body."""
        if body.startswith(b"FAIL:"):
            raise RuntimeError(body[5:].decode(errors="replace"))
        self.record("bytes", incoming)
