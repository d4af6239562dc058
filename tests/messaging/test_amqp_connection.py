"""Connecting to RabbitMQ: bounded by a timeout, and a failure said in one line.

The line names the scheme, host and port and why (timed out, refused, authentication
failed), never the user or the password; nothing keeps running after a failed connect.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from svckit.core.errors import MessagingError
from svckit.messaging.amqp import AmqpTransport

from ._amqp_helpers import wait_until
from ._amqp_wire import mute_port

USER, PASSWORD = "svckit-user", "s3cret-Passw0rd"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _connect_error(url: str, timeout: float = 0.5) -> str:
    transport = AmqpTransport(url, connect_timeout=timeout)
    async with asyncio.timeout(30):  # a liveness bound, far above the timeout
        with pytest.raises(MessagingError) as caught:
            await transport.connect()
    message = str(caught.value)
    assert "\n" not in message
    assert PASSWORD not in message
    assert USER not in message
    # Nothing of the failed connection goes on in the background (once cancelled tasks end).
    await wait_until(_alone, timeout=5, what="no task left behind", explain=_others)
    return message


def _others() -> list[asyncio.Task[object]]:
    return [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]


async def _alone() -> bool:
    return not _others()


async def test_a_port_that_never_speaks_amqp_fails_within_the_connect_timeout() -> None:
    async with mute_port() as port:
        message = await _connect_error(f"amqp://{USER}:{PASSWORD}@127.0.0.1:{port}/vhost")
    assert f"amqp://127.0.0.1:{port}" in message
    assert "timed out after 0.5 s" in message


async def test_a_refused_connection_says_so() -> None:
    port = _free_port()
    message = await _connect_error(f"amqp://{USER}:{PASSWORD}@127.0.0.1:{port}/")
    assert message.endswith(f"amqp://127.0.0.1:{port}: connection refused")


@pytest.mark.rabbitmq
async def test_wrong_credentials_say_authentication_failed() -> None:
    message = await _connect_error(f"amqp://{USER}:{PASSWORD}@127.0.0.1:5672/", timeout=10)
    assert "amqp://127.0.0.1:5672" in message
    assert "authentication failed" in message


def test_the_timeouts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        AmqpTransport("amqp://localhost/", connect_timeout=0)
