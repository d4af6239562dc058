"""The publish deadline of the RabbitMQ transport: one watcher, no timer per publish."""

from __future__ import annotations

import asyncio

import pytest

from svckit.messaging._amqp_deadline import PublishDeadline


async def test_a_publish_past_the_deadline_raises_timeout_error() -> None:
    deadline = PublishDeadline(0.05, check_every=0.01)
    stuck = asyncio.get_running_loop().create_future()  # a send buffer that never drains
    with pytest.raises(TimeoutError, match=r"longer than 0\.05s"):
        await deadline.run(stuck)
    await deadline.close()


async def test_a_publish_in_time_returns_its_result() -> None:
    deadline = PublishDeadline(5, check_every=0.01)

    async def confirmed() -> str:
        return "ack"

    assert await deadline.run(confirmed()) == "ack"
    await deadline.close()


async def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    deadline = PublishDeadline(60, check_every=0.01)
    started = asyncio.Event()

    async def publisher() -> None:
        started.set()
        await deadline.run(asyncio.get_running_loop().create_future())

    task = asyncio.create_task(publisher())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await deadline.close()
