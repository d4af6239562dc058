"""When a call is tried again, and after how long.

Only a call that is safe to repeat is retried: an idempotent method (RFC 9110 §9.2.2),
or any method when the caller says so or sends an ``Idempotency-Key``. Only outcomes
that may pass are retried: no response at all (connection refused or reset, a timeout),
or a status that says "not now" (429, 502, 503, 504). Any other 4xx or 5xx is final.
"""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from svckit.http._errors import HttpStatusError, HttpTransportError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from svckit.core.retry import RetryPolicy

__all__ = ["IDEMPOTENT_METHODS", "RETRY_STATUSES", "may_retry", "next_delay", "retry_after"]

#: Methods whose repetition has the effect of one call.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: Statuses that ask the client to come back later.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Statuses whose Retry-After header says how long "later" is (RFC 9110 §10.2.3).
_RETRY_AFTER_STATUSES = frozenset({429, 503})


def may_retry(method: str, headers: Mapping[str, str], *, retry: bool | None) -> bool:
    """Whether a call may be sent more than once.

    Args:
        method: The method, upper case.
        headers: The call's own headers; matched case-insensitively.
        retry: The caller's word: True or False decide, None leaves it to the method
            and the ``Idempotency-Key`` header.
    """
    if retry is not None:
        return retry
    if method in IDEMPOTENT_METHODS:
        return True
    return any(name.lower() == "idempotency-key" for name in headers)


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait that a ``Retry-After`` header asks for, or None if it is absent or bad.

    Args:
        value: The header: delay seconds (``"120"``) or an HTTP date.
        now: The current time for an HTTP date; the clock's by default.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive one comes from "-0000"
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def next_delay(
    policy: RetryPolicy,
    error: HttpStatusError | HttpTransportError,
    attempt: int,
    elapsed: float,
) -> float | None:
    """The seconds to wait before the next try, or None when the call should give up.

    The policy decides (attempts, ``retry_on`` and ``give_up_on`` against ``error``), its
    ``delay(attempt)`` sets the wait unless the server sent ``Retry-After`` with a 429 or
    503, which is honoured up to the policy's ``max_delay``. No try starts past the
    policy's deadline.

    Args:
        policy: The client's or the call's retry policy.
        error: What try ``attempt`` ended with.
        attempt: The try that failed, from 1.
        elapsed: Seconds since the first try started.
    """
    if not policy.should_retry(error, attempt):
        return None
    delay = policy.delay(attempt)
    if isinstance(error, HttpStatusError) and error.status in _RETRY_AFTER_STATUSES:
        asked = retry_after(error.response.headers.get("retry-after"))
        if asked is not None:
            delay = min(asked, policy.max_delay)
    if policy.deadline is not None and elapsed + delay >= policy.deadline:
        return None
    return delay
