"""Shared test set-up: real services are found on localhost, or the test skips (or fails in CI)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import TYPE_CHECKING

import pytest
import structlog

from svckit.core import logging as svckit_logging
from svckit.messaging import DEFAULT_EXCHANGE

if TYPE_CHECKING:
    from collections.abc import Iterator

SERVICES = {
    "rabbitmq": ("RabbitMQ", 5672),
    "redis": ("Redis", 6379),
    "postgres": ("PostgreSQL", 5432),
}

REQUIRE_SERVICES = os.environ.get("SVCKIT_REQUIRE_SERVICES") == "1"


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, (label, port) in SERVICES.items():
        if item.get_closest_marker(marker) is None or _reachable(port):
            continue
        message = f"{label} is not reachable on 127.0.0.1:{port}"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message}, and SVCKIT_REQUIRE_SERVICES=1 forbids skipping", pytrace=False)
        pytest.skip(message)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Leave the process's logging as the test found it, after it configured logging."""
    root = logging.getLogger()
    level = root.level
    yield
    state = svckit_logging._State
    if state.handler is not None:
        root.removeHandler(state.handler)
        state.handler.close()
    for name in state.quieted:
        logging.getLogger(name).setLevel(logging.NOTSET)
    state.handler, state.quieted, state.service = None, frozenset(), None
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


async def _exchange_exists(name: str) -> bool:
    import aio_pika  # noqa: PLC0415 - only when RabbitMQ is there

    connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    async with connection:
        channel = await connection.channel()
        try:
            await channel.declare_exchange(name, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return False
        return True


async def _delete_exchange_if_unused(name: str) -> None:
    import aio_pika  # noqa: PLC0415

    connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    async with connection:
        channel = await connection.channel()
        with contextlib.suppress(aio_pika.exceptions.ChannelClosed):
            await channel.exchange_delete(name, if_unused=True)


@pytest.fixture(scope="session", autouse=True)
def leave_the_default_exchange_as_found() -> Iterator[None]:
    """Services run by the tests declare svckit's default exchange; remove it if it was new.

    Only when nothing is bound to it any more (``if_unused``), so nobody's queue loses it.
    """
    reachable = _reachable(5672)
    existed = reachable and asyncio.run(_exchange_exists(DEFAULT_EXCHANGE))
    yield
    if reachable and not existed and _reachable(5672):
        asyncio.run(_delete_exchange_if_unused(DEFAULT_EXCHANGE))
