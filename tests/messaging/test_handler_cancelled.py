"""A handler's own CancelledError is its failure, not a shutdown (both transports)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from svckit import RetryPolicy
from svckit.messaging import Event, Headers, consumer
from tests.messaging.conftest import Recorder, eventually

if TYPE_CHECKING:
    from collections.abc import Callable

    from svckit.messaging import Bus

FAST = RetryPolicy(attempts=3, initial_delay=0.02, max_delay=0.1, jitter=0)


class ReportRequested(Event, topic="reports.requested"):
    report_id: int


async def test_a_handler_that_raises_cancelled_error_itself_is_retried_then_dead_lettered(
    make_bus: Callable[..., Bus], recorder: Recorder
) -> None:
    @consumer(retry=FAST)
    async def render(message: ReportRequested) -> None:
        await recorder.add(message.report_id)
        # A future of its own, cancelled by something else: nothing cancelled this task.
        future = asyncio.get_running_loop().create_future()
        future.cancel()
        await future

    bus = make_bus()
    c = bus.add_consumer(render)
    async with bus:
        await c.start()
        await bus.publish(ReportRequested(report_id=7))

        async def one_dead_letter() -> bool:
            return await bus.transport.message_count(f"{c.name}.dlq") == 1

        await eventually(one_dead_letter, message="the dead letter")
        letter = await bus.transport.get(f"{c.name}.dlq")
        assert letter is not None
        await letter.ack()
        # The consumer goes on: the next message is handled as usual.
        await bus.publish(ReportRequested(report_id=8))
        await eventually(lambda: recorder.items.count(8) == 3, message="three tries of 8")
        await eventually(one_dead_letter, message="the second dead letter")
        await c.stop()
        await c.drain(5)

    assert recorder.items.count(7) == 3  # one try per attempt, not until a delivery limit
    assert letter.headers[Headers.ATTEMPT] == 3
    assert letter.headers[Headers.ERROR_TYPE] == "svckit.core.errors.HandlerCancelledError"
    assert "CancelledError" in letter.headers[Headers.ERROR_TRACEBACK]
