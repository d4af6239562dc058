"""Helpers of the media worker's tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self, TypeAlias, TypeVar

from examples.media_worker import MediaWorker, MediaWorkerSettings
from examples.media_worker.pool import ImagePool
from svckit.testing import ServiceHarness

if TYPE_CHECKING:
    from examples.media_worker.notifications import Notification

T = TypeVar("T")

StartWorker: TypeAlias = Callable[..., Awaitable[ServiceHarness[MediaWorker]]]


def worker_settings(**overrides: Any) -> MediaWorkerSettings:
    """Settings on a broker and a content store of the test's own, with no health port."""
    own = f"memory://media-test-{uuid.uuid4().hex}"
    values: dict[str, Any] = {
        "bus_url": own,
        "cache_url": "memory://",
        "storage_url": own,
        "environment": "test",
        "health_port": None,
        "image_workers": 2,
        # Threads start at once; tests measure behaviour, not the event loop's lag.
        "image_executor": "thread",
        **overrides,
    }
    return MediaWorkerSettings(**values)


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout: float = 10.0) -> None:
    """Poll ``check`` until it holds; fail (TimeoutError) after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 - a cache value has no event to wait on
            await asyncio.sleep(0.01)


class GatedPool(ImagePool):
    """A real image pool that holds each job until the test opens the gate, and can fail."""

    def __init__(self, workers: int = 2, *, failures: int = 0) -> None:
        super().__init__(workers, "thread")
        self.gate = asyncio.Event()
        self.gate.set()
        self.failures = failures
        self.calls = 0

    async def run(self, func: Callable[..., T], *args: object) -> T:
        self.calls += 1
        await self.gate.wait()
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("the pool broke")
        return await super().run(func, *args)


class ScriptedNotifier:
    """A notifier that fails as scripted (one outcome per call), then delivers."""

    def __init__(self, *outcomes: Exception) -> None:
        self.outcomes = list(outcomes)
        self.attempts: list[str] = []
        self.delivered: list[tuple[str, Notification]] = []

    async def send(self, notification: Notification, *, key: str) -> None:
        self.attempts.append(key)
        if self.outcomes:
            raise self.outcomes.pop(0)
        self.delivered.append((key, notification))


@dataclass
class Received:
    """One request the webhook server read."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookServer:
    """A small real HTTP/1.1 server on localhost that answers as the test scripts it.

    Each request gets the next scripted answer: a status code, or None to hang up after
    reading the request without answering. Once the script is spent it answers 204.
    """

    def __init__(self, *answers: int | None) -> None:
        self.answers = list(answers)
        self.received: list[Received] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hooks/users"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while request := await self._read(reader):
                self.received.append(request)
                answer = self.answers.pop(0) if self.answers else 204
                if answer is None:
                    break
                writer.write(f"HTTP/1.1 {answer} Scripted\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        finally:
            writer.close()

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Received | None:
        line = await reader.readline()
        if not line:
            return None
        method, path, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (header := await reader.readline()) not in {b"\r\n", b""}:
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return Received(method, path, headers, body)
