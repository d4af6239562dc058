"""What becomes of a message whose handler failed: a retry copy or a dead letter.

A failure the retry policy allows again is published, with the next attempt number, to a
delay queue that sends it back after the wait; anything else (the last attempt, an error
the policy does not retry, `Reject`, poison, a retry past the policy's deadline) goes to
the queue's dead-letter queue with the error's type, message and traceback excerpt. The
original is acknowledged only after the broker confirmed the copy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import get_current_span

from svckit.core.logging import get_logger
from svckit.core.telemetry import record_failure
from svckit.messaging._handling import (
    copy_to,
    delay_bucket_ms,
    error_message,
    has_validation_error,
    header_budget,
    past_deadline,
    topic_of,
    traceback_excerpt,
    type_name,
)
from svckit.messaging.control import Reject, RetryLater
from svckit.messaging.transport import Headers

if TYPE_CHECKING:
    from svckit.core.retry import RetryPolicy
    from svckit.messaging._metrics import BusTelemetry
    from svckit.messaging.transport import Delivery, QueueSpec, Transport

__all__ = ["Outcomes"]

_log = get_logger("svckit.consumer")


class Outcomes:
    """Retries and dead letters for one consumer's queue."""

    def __init__(
        self,
        queue: QueueSpec,
        *,
        policy: RetryPolicy,
        transport: Transport,
        telemetry: BusTelemetry,
    ) -> None:
        """Settle ``queue``'s failed messages by ``policy`` through ``transport``."""
        self._queue = queue
        self._policy = policy
        self._transport = transport
        self._telemetry = telemetry
        self._attributes = {"queue": queue.name}
        self._delay_queues: dict[int, str] = {}

    async def failed(self, delivery: Delivery, exc: Exception, attempt: int) -> None:
        """Retry a handler's failure by the policy, or dead-letter it; then acknowledge."""
        self._telemetry.failed.add(1, self._attributes)
        record_failure(get_current_span(), exc)
        policy = self._policy
        if isinstance(exc, Reject):
            _log.warning("handler rejected the message", reason=exc.reason)
            await self.dead_letter(delivery, exc, attempt)
            return
        retryable = isinstance(exc, RetryLater) or policy.should_retry(exc, attempt)
        if attempt >= policy.attempts or not retryable:
            _log.error(
                "handler failed, dead-lettering",
                attempt=attempt,
                error_type=type(exc).__name__,
                **_failure_fields(exc),
            )
            await self.dead_letter(delivery, exc, attempt)
            return
        delay = exc.after if isinstance(exc, RetryLater) and exc.after is not None else None
        if delay is None:
            delay = policy.delay(attempt)
        if past_deadline(delivery, policy.deadline, delay):
            _log.error("handler failed and the retry deadline has passed, dead-lettering")
            await self.dead_letter(delivery, exc, attempt)
            return
        _log.warning(
            "handler failed, will retry",
            attempt=attempt,
            delay_s=round(delay, 3),
            error_type=type(exc).__name__,
            error=error_message(exc),
        )
        await self.retry(delivery, attempt + 1, delay)
        self._telemetry.retried.add(1, self._attributes)

    async def retry(self, delivery: Delivery, next_attempt: int, delay: float) -> None:
        """Send a copy to wait ``delay`` in a delay queue, then acknowledge the original."""
        ms = delay_bucket_ms(delay)
        queue = self._delay_queues.get(ms)
        if queue is None:
            queue = await self._transport.declare_delay_queue(self._queue, ms)
            self._delay_queues[ms] = queue
        own = {Headers.ATTEMPT: next_attempt, Headers.ROUTING_KEY: topic_of(delivery)}
        copy = copy_to(delivery, queue, own, budget=header_budget(self._transport))
        await self._transport.publish("", copy, mandatory=True)
        await delivery.ack()

    async def dead_letter(self, delivery: Delivery, exc: BaseException, attempt: int) -> None:
        """Send a copy with the error to the dead-letter queue, then acknowledge."""
        own = {
            Headers.ATTEMPT: attempt,
            Headers.ERROR_TYPE: type_name(exc),
            Headers.ERROR_MESSAGE: error_message(exc),
            Headers.ERROR_TRACEBACK: traceback_excerpt(exc),
            Headers.DEAD_LETTERED_AT: datetime.now(UTC).isoformat(),
            Headers.QUEUE: self._queue.name,
            Headers.ROUTING_KEY: topic_of(delivery),
        }
        dead_letter_queue = self._queue.dead_letter_queue
        budget = header_budget(self._transport)
        try:
            await self._transport.publish(
                "", copy_to(delivery, dead_letter_queue, own, budget=budget), mandatory=True
            )
        except Exception as refused:  # noqa: BLE001 - retried bare below; an outage raises there
            # Whatever of the message's own content made the copy fail, a copy without
            # its foreign headers and properties still reaches the dead letters: a message
            # must not loop through redeliveries because it cannot be dead-lettered.
            _log.warning(
                "could not dead-letter the full copy; sending it without its headers",
                error_type=type_name(refused),
            )
            own[Headers.DROPPED_HEADERS] = "*"
            bare = copy_to(delivery, dead_letter_queue, own, bare=True, budget=budget)
            await self._transport.publish("", bare, mandatory=True)
        await delivery.ack()
        self._telemetry.dead_lettered.add(1, self._attributes)


def _failure_fields(exc: BaseException) -> dict[str, Any]:
    # A pydantic error's text shows the input values: log its summary, not the traceback.
    if has_validation_error(exc):
        return {"error": error_message(exc), "traceback": traceback_excerpt(exc)}
    return {"exc_info": exc}
