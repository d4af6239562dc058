"""What a consumer reads from a delivery and writes on the copies it publishes.

The attempt number and original topic in svckit's headers, the retry deadline, the copies
sent to delay and dead-letter queues, and the rounding of delays to delay queues.

Every value read from a delivery is foreign: it is validated before use, and a copy
carries only what the broker can be sent (see `svckit.messaging._foreign`), within
`HEADER_BUDGET`. Like RabbitMQ's own dead-lettering, a copy drops the ``expiration``
(it would expire in its new queue) and the ``user_id`` (the broker refuses a user id
other than the publisher's), and keeps both in svckit headers.
"""

from __future__ import annotations

import math
import traceback
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from svckit.core._redact import redact_text
from svckit.core.logging import get_logger
from svckit.messaging._foreign import (
    encodable_headers,
    encoded_size,
    note,
    sane_int,
    short_text,
)
from svckit.messaging.consumer import validation_summary
from svckit.messaging.transport import Headers, Outgoing

if TYPE_CHECKING:
    from collections.abc import Mapping

    from svckit.messaging.transport import Delivery

__all__ = [
    "HEADER_BUDGET",
    "MAX_ATTEMPT",
    "MIN_DELAY_MS",
    "TRACEBACK_LIMIT",
    "attempt_of",
    "copy_to",
    "delay_bucket_ms",
    "error_message",
    "give_back",
    "header_budget",
    "past_deadline",
    "request_id_of",
    "topic_of",
    "traceback_excerpt",
    "type_name",
]

_log = get_logger("svckit.consumer")

#: The longest traceback excerpt a dead letter carries, in characters.
TRACEBACK_LIMIT = 2000
#: The smallest delay-queue TTL; shorter waits round up to it.
MIN_DELAY_MS = 10
#: The most encoded bytes of headers a copy carries: half of RabbitMQ's default frame
#: size (131,072), which the header frame (headers and properties) must fit.
HEADER_BUDGET = 64 * 1024
#: Room kept for a copy's properties (nine short strings and a few numbers) when the
#: transport says how large its header frame may be.
PROPERTIES_ROOM = 2400
#: The highest attempt number read from a header; anything else counts as attempt 1.
MAX_ATTEMPT = 1_000_000
#: The longest request id read from a header, in characters.
REQUEST_ID_LIMIT = 128


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


def header_budget(transport: object, extra: int = 0) -> int:
    """The most header bytes a copy may carry on ``transport``.

    `HEADER_BUDGET` (plus ``extra``), or less when the transport says its header frame is
    smaller (``max_header_bytes``: the RabbitMQ transport's negotiated frame size).
    """
    budget = HEADER_BUDGET + extra
    limit = getattr(transport, "max_header_bytes", None)
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        budget = min(budget, limit - PROPERTIES_ROOM)
    return max(budget, 1024)


def topic_of(delivery: Delivery) -> str:
    """The topic a message was published with (a retry arrives under its delay queue)."""
    return short_text(delivery.headers.get(Headers.ROUTING_KEY)) or delivery.routing_key


def attempt_of(headers: Mapping[str, Any]) -> int:
    """The attempt number in ``headers``: 1 unless it holds a sane one."""
    return sane_int(headers.get(Headers.ATTEMPT, 1), 1, MAX_ATTEMPT) or 1


def request_id_of(headers: Mapping[str, Any]) -> str | None:
    """The request id in ``headers``, when it is a short line of printable text."""
    value = headers.get(Headers.REQUEST_ID)
    if isinstance(value, str) and 0 < len(value) <= REQUEST_ID_LIMIT and value.isprintable():
        return value
    return None


def copy_to(
    delivery: Delivery,
    routing_key: str,
    own: dict[str, Any],
    *,
    bare: bool = False,
    budget: int = HEADER_BUDGET,
) -> Outgoing:
    """A copy of ``delivery`` for ``routing_key`` with svckit's headers ``own`` set.

    The body and properties are kept as they arrived, but for ``expiration`` and
    ``user_id`` (kept in headers instead). Foreign headers and properties the broker
    could not be sent are left out and named in ``x-svckit-dropped-headers`` and
    ``x-svckit-dropped-properties``; the foreign headers fill what `HEADER_BUDGET` leaves
    after svckit's own, and a copy too large even so has its error text cut. A ``bare``
    copy keeps only the body and the message id (the last resort of a dead letter).
    """
    own = dict(own)
    if bare:
        props: dict[str, Any] = {"message_id": short_text(delivery.message_id)}
        foreign: dict[str, Any] = {}
    else:
        props = _properties(delivery, own)
        foreign = {k: v for k, v in delivery.headers.items() if k not in own}
    dropped = []
    replaced = own.get(Headers.ATTEMPT) is not None and Headers.ATTEMPT in delivery.headers
    if replaced and sane_int(delivery.headers[Headers.ATTEMPT], 1, MAX_ATTEMPT) is None:
        dropped.append(Headers.ATTEMPT)  # replaced: it held no sane attempt number
    _fit_own(own, budget * 3 // 4)
    # Room for svckit's headers and for the note of what was left out.
    headers, left_out = encodable_headers(foreign, budget - encoded_size(own) - 1100)
    dropped += left_out
    if dropped:
        headers[Headers.DROPPED_HEADERS] = note(dropped)
    headers.update(own)
    return Outgoing(
        body=delivery.body,
        routing_key=routing_key,
        message_id=props.pop("message_id"),
        timestamp=props.pop("timestamp", None),
        type=props.pop("type", None),
        correlation_id=props.pop("correlation_id", None),
        headers=headers,
        **props,
    )


def _properties(delivery: Delivery, own: dict[str, Any]) -> dict[str, Any]:
    """The delivery's properties a copy can carry; notes in ``own`` what it cannot."""
    props: dict[str, Any] = {}
    dropped: list[str] = []
    for name in _TEXT_PROPERTIES:
        value = getattr(delivery, name, None)
        props[name] = short_text(value)
        if value is not None and props[name] is None:
            dropped.append(name)
    priority = delivery.priority
    props["priority"] = sane_int(priority, 0, 255) if priority is not None else None
    if priority is not None and props["priority"] is None:
        dropped.append("priority")
    timestamp = delivery.timestamp
    if timestamp is not None and not encodable_headers({"t": timestamp}, 64)[0]:
        dropped.append("timestamp")
        timestamp = None
    props["timestamp"] = timestamp
    # As RabbitMQ's own dead-lettering does: an expiration would expire the copy in its
    # new queue, and the broker refuses a user id that is not the publisher's.
    expiration = props.pop("expiration")
    if expiration is not None:
        own[Headers.ORIGINAL_EXPIRATION] = expiration
    user_id = props.pop("user_id")
    if user_id is not None:
        own[Headers.ORIGINAL_USER_ID] = user_id
    if dropped:
        own[Headers.DROPPED_PROPERTIES] = ",".join(dropped)
    return props


_TEXT_PROPERTIES = (
    "message_id",
    "type",
    "correlation_id",
    "content_type",
    "content_encoding",
    "expiration",
    "reply_to",
    "app_id",
    "user_id",
)
# svckit's own text headers, cut in this order when they do not fit (the least useful
# first) in three quarters of the budget (a quarter is kept for the foreign headers).
_CUT_FIRST = (Headers.ERROR_TRACEBACK, Headers.ERROR_MESSAGE)


def _fit_own(own: dict[str, Any], budget: int) -> None:
    clean, dropped = encodable_headers(own, 2**62)
    own.clear()
    own.update(clean)
    cut = [*dropped]
    for name in _CUT_FIRST:
        excess = encoded_size(own) - budget
        if excess <= 0:
            break
        text = own.get(name)
        if isinstance(text, str):
            data = text.encode()
            # The end of a traceback says the most; the start of a message does.
            kept = data[excess + 64 :] if name == Headers.ERROR_TRACEBACK else data[: -excess - 64]
            own[name] = kept.decode("utf-8", "ignore")
            cut.append(name)
    if cut:
        own[Headers.TRUNCATED_HEADERS] = note(cut)


def type_name(exc: BaseException) -> str:
    """The exception's class: ``ValueError`` for built-ins, ``module.QualName`` otherwise."""
    kind = type(exc)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def error_message(exc: BaseException) -> str:
    """What ``exc`` says, with no payload value a pydantic error would show; redacted.

    A `ValidationError` says its field locations and error types only.
    """
    if isinstance(exc, ValidationError):
        return validation_summary(exc)
    return redact_text(str(exc)[: 2 * TRACEBACK_LIMIT])[:TRACEBACK_LIMIT]


def traceback_excerpt(exc: BaseException) -> str:
    """The end of ``exc``'s traceback (with its causes), as `error_message` words them."""
    text = ""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 8:  # noqa: PLR2004
        seen.add(id(current))
        frames = "".join(traceback.format_tb(current.__traceback__))
        text = (
            f"Traceback (most recent call last):\n{frames}"
            f"{type_name(current)}: {error_message(current)}\n{text}"
        )
        if current.__cause__ is not None:
            current = current.__cause__
            link = "The above exception was the direct cause of the following exception:"
        elif current.__context__ is not None and not current.__suppress_context__:
            current = current.__context__
            link = "During handling of the above exception, another exception occurred:"
        else:
            break
        text = f"\n{link}\n\n{text}"
    # Bound before redacting, then keep the tail: the end of a traceback says the most.
    return redact_text(text[-2 * TRACEBACK_LIMIT :])[-TRACEBACK_LIMIT:]


def has_validation_error(exc: BaseException) -> bool:
    """Whether ``exc`` or one of its causes is a pydantic `ValidationError`."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ValidationError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
