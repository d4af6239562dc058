"""Fixtures and helpers of the bot tests: the fake Telegram server, bot settings, harnesses."""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, Any

import pytest

from svckit.testing import ServiceHarness
from svckit.testing.telegram import FakeTelegram

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_settings(telegram: FakeTelegram, mode: str = "polling", **more: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "bot_token": telegram.token,
        "telegram_api_url": telegram.base_url,
        "polling_timeout": 5,
        "bot_mode": mode,
        **more,
    }
    if mode == "webhook":
        port = free_port()
        values.setdefault("webhook_url", f"http://127.0.0.1:{port}/telegram")
        values.setdefault("webhook_secret", "s3cret-token")
        values.setdefault("webhook_port", port)
    return values


@pytest.fixture(params=["polling", "webhook"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def harness(service: Any, telegram: FakeTelegram, mode: str = "polling", **more: Any) -> Any:
    return ServiceHarness(service, **bot_settings(telegram, mode, **more))


def receive_commands(broker: Any, topic: str, queue: str = "test.commands") -> None:
    """Bind a queue for ``topic`` on the embedded broker, as the worker that takes it would."""
    broker.declare_exchange("svckit")
    broker.declare_queue(queue)
    broker.bind("svckit", queue, topic)


async def eventually(condition: Callable[[], bool], *, timeout: float = 10.0) -> None:
    """Wait until ``condition()`` holds, looking every few milliseconds, under a deadline."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - the condition is not ours to signal
            await asyncio.sleep(0.01)
