"""What a consumer reads from a delivery and writes on the copies it publishes.

The attempt number and original topic in svckit's headers, the retry deadline, the copies
sent to delay and dead-letter queues, and the rounding of delays to delay queues.
"""

from __future__ import annotations

import math
import traceback
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from svckit.core._redact import redact_text
from svckit.core.logging import get_logger
from svckit.messaging.transport import Headers, Outgoing

if TYPE_CHECKING:
    from svckit.messaging.transport import Delivery

__all__ = [
    "MIN_DELAY_MS",
    "TRACEBACK_LIMIT",
    "attempt_of",
    "copy_to",
    "delay_bucket_ms",
    "give_back",
    "past_deadline",
    "topic_of",
    "traceback_excerpt",
    "type_name",
]

_log = get_logger("svckit.consumer")

#: The longest traceback excerpt a dead letter carries, in characters.
TRACEBACK_LIMIT = 2000
#: The smallest delay-queue TTL; shorter waits round up to it.
MIN_DELAY_MS = 10


def delay_bucket_ms(seconds: float) -> int:
    """Round a delay to one of a few fixed delay queues (steps of about 19%).

    Each distinct delay needs its own queue (a queue's TTL is fixed, so nothing waits
    behind a longer delay), so delays are rounded up on a geometric grid: 10 ms, 12 ms,
    14 ms, 17 ms, 20 ms... four steps per doubling.
    """
    ms = max(seconds * 1000, MIN_DELAY_MS)
    step = math.ceil(4 * math.log2(ms / MIN_DELAY_MS) - 1e-9)
    return round(MIN_DELAY_MS * 2 ** (step / 4))


async def give_back(delivery: Delivery) -> None:
    try:
        await delivery.nack(requeue=True)
    except Exception:  # noqa: BLE001 - a closed channel gives it back by itself
        _log.debug("could not requeue on cancel; the broker requeues on close", exc_info=True)


def past_deadline(delivery: Delivery, deadline: float | None, delay: float) -> bool:
    """Whether a retry after ``delay`` would start past the policy's deadline.

    The deadline counts from when the message was first published (its timestamp).
    """
    if deadline is None or delivery.timestamp is None:
        return False
    published = delivery.timestamp
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    age = (datetime.now(UTC) - published).total_seconds()
    return age + delay > deadline


def topic_of(delivery: Delivery) -> str:
    # A retried message comes back from its delay queue under the queue's name.
    original = delivery.headers.get(Headers.ROUTING_KEY)
    return original if isinstance(original, str) else delivery.routing_key


def attempt_of(headers: Any) -> int:
    value = headers.get(Headers.ATTEMPT, 1)
    try:
        return max(int(value), 1)
    except (TypeError, ValueError):
        return 1


def copy_to(delivery: Delivery, routing_key: str, headers: dict[str, Any]) -> Outgoing:
    return Outgoing(
        body=delivery.body,
        routing_key=routing_key,
        message_id=delivery.message_id or "",
        timestamp=delivery.timestamp or datetime.now(UTC),
        type=delivery.type,
        correlation_id=delivery.correlation_id,
        headers=headers,
    )


def type_name(exc: BaseException) -> str:
    kind = type(exc)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def traceback_excerpt(exc: BaseException) -> str:
    text = redact_text("".join(traceback.format_exception(exc)))
    # The end of a traceback says the most: keep the tail.
    return text[-TRACEBACK_LIMIT:]
