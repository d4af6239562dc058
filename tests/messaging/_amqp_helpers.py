"""Helpers of the tests against the real RabbitMQ: names, waiting, rabbitmqctl and clean-up."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
import uuid
from typing import TYPE_CHECKING

import aio_pika
import pytest

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
REDIS_URL = "redis://127.0.0.1:6379/0"

#: How long one rabbitmqctl command may take (stop_app waits for queues to stop).
RABBITMQCTL_TIMEOUT = 60.0


def unique(prefix: str) -> str:
    """A name no other test run uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    *,
    timeout: float,
    what: str,
    explain: Callable[[], object] | None = None,
    interval: float = 0.01,
) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds.

    ``explain`` gives the state to show in the failure message.
    """
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            state = f" ({explain()})" if explain is not None else ""
            pytest.fail(f"{what}: not true within {timeout} s{state}")
        await asyncio.sleep(interval)


def rabbitmqctl_path() -> str:
    """The rabbitmqctl executable, or skip the test when this machine has none."""
    path = shutil.which("rabbitmqctl")
    if path is None:
        pytest.skip("rabbitmqctl is not installed; the broker cannot be restarted")
    return path


async def rabbitmqctl(*args: str, timeout: float = RABBITMQCTL_TIMEOUT) -> str:
    """Run ``rabbitmqctl *args`` and return its output; fail the test if it fails."""
    process = await asyncio.create_subprocess_exec(
        rabbitmqctl_path(),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(timeout):
            output, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"rabbitmqctl {' '.join(args)} took longer than {timeout} s")
    text = output.decode(errors="replace")
    if process.returncode != 0:
        pytest.fail(f"rabbitmqctl {' '.join(args)} failed ({process.returncode}): {text[-500:]}")
    return text


async def queues_named(prefix: str) -> list[str]:
    """The broker's queues whose name starts with ``prefix`` (delay queues, for example)."""
    # The broker is shared: another test may be restarting it right now.
    await rabbitmqctl("await_startup")
    output = await rabbitmqctl("list_queues", "--quiet", "--no-table-headers", "name")
    return [line.strip() for line in output.splitlines() if line.strip().startswith(prefix)]


async def message_count(queue: str) -> int:
    """How many messages are ready in ``queue``, asked with plain aio-pika."""
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        count = declared.declaration_result.message_count
        return int(count or 0)


async def delete_topology(
    exchange: str,
    queues: Iterable[str],
    *,
    with_delay_queues_of: Iterable[str] = (),
) -> None:
    """Delete ``queues``, the delay queues of ``with_delay_queues_of`` and ``exchange``.

    Delay queues are created on demand by whichever process retried a message, so they
    are found by name on the broker.
    """
    names = set(queues)
    for queue in with_delay_queues_of:
        names.update(await queues_named(f"{queue}.delay."))
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        for name in sorted(names):
            # A failed delete closes its channel: one channel each.
            channel = await connection.channel()
            with contextlib.suppress(aio_pika.exceptions.AMQPError):
                await channel.queue_delete(name)
            with contextlib.suppress(aio_pika.exceptions.AMQPError):
                await channel.close()
        channel = await connection.channel()
        await channel.exchange_delete(exchange)
