"""What a call tells the outside world: its request id, its span, its log lines.

URLs are shown without their user info (a password, or an API key sent as the user
name) and with secret-looking query values masked, in spans, logs and error messages
alike.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import structlog
from opentelemetry.trace import Status, StatusCode

from svckit.core._redact import redact_text
from svckit.core.logging import current_request_id, get_logger
from svckit.core.telemetry import (
    ERROR_TYPE,
    HTTP_REQUEST_METHOD,
    HTTP_RESPONSE_STATUS_CODE,
    SERVER_ADDRESS,
    SERVER_PORT,
    URL_FULL,
)
from svckit.http._errors import HttpStatusError

if TYPE_CHECKING:
    from opentelemetry.trace import Span
    from opentelemetry.util.types import Attributes

    from svckit.http._errors import HttpTransportError
    from svckit.http._lib import httpx

__all__ = [
    "REQUEST_ID_HEADER",
    "log_request",
    "log_retry",
    "mark_response",
    "request_id",
    "safe_url",
    "span_attributes",
]

#: The header that carries the request id from service to service.
REQUEST_ID_HEADER = "X-Request-ID"
# From the OpenTelemetry HTTP conventions: which resend of the request this is.
_RESEND_COUNT = "http.request.resend_count"
_DEFAULT_PORTS = {"http": 80, "https": 443}

_log = get_logger("svckit.http")


def safe_url(url: httpx.URL) -> str:
    """The URL as it may be shown: no user info, secret query values masked."""
    if url.userinfo:
        url = url.copy_with(username=None, password=None)
    return redact_text(str(url))


def request_id(given: str | None) -> str:
    """The id of the request being made.

    The caller's own ``X-Request-ID`` header wins; then the ``request_id`` bound to the
    logging context (by the API kind for the request it serves, or with `bind_context`);
    otherwise a new random id, so that every call can still be found in both services'
    logs.
    """
    if given:
        return given
    bound = current_request_id() or structlog.contextvars.get_contextvars().get("request_id")
    if bound:
        return str(bound)
    return uuid.uuid4().hex


def span_attributes(method: str, url: httpx.URL, target: str, attempt: int) -> Attributes:
    """The attributes of a CLIENT span known before the request is sent."""
    attributes: dict[str, str | int] = {
        HTTP_REQUEST_METHOD: method,
        URL_FULL: target,
        SERVER_ADDRESS: url.host,
        SERVER_PORT: url.port or _DEFAULT_PORTS.get(url.scheme, 0),
    }
    if attempt > 1:
        attributes[_RESEND_COUNT] = attempt - 1
    return attributes


def mark_response(span: Span, status: int) -> None:
    """Put the response's status on the span; a 4xx or 5xx marks a client span failed."""
    span.set_attribute(HTTP_RESPONSE_STATUS_CODE, status)
    if status >= 400:  # noqa: PLR2004 - the HTTP conventions' threshold for client spans
        span.set_attribute(ERROR_TYPE, str(status))
        span.set_status(Status(StatusCode.ERROR))


def log_request(
    method: str,
    target: str,
    *,
    request_id: str,
    attempt: int,
    seconds: float,
    status: int | None = None,
    error: BaseException | None = None,
) -> None:
    """One debug line per request sent, answered or not."""
    if error is not None:
        _log.debug(
            "http request failed",
            method=method,
            url=target,
            error=type(error).__name__,
            duration_ms=round(seconds * 1000, 1),
            attempt=attempt,
            request_id=request_id,
        )
        return
    _log.debug(
        "http request",
        method=method,
        url=target,
        status=status,
        duration_ms=round(seconds * 1000, 1),
        attempt=attempt,
        request_id=request_id,
    )


def log_retry(
    error: HttpStatusError | HttpTransportError,
    *,
    request_id: str,
    attempt: int,
    delay: float,
) -> None:
    """A warning for each retry: what failed, and how long until the next try."""
    reason = (
        str(error.status)
        if isinstance(error, HttpStatusError)
        else type(error.__cause__ or error).__name__
    )
    _log.warning(
        "retrying http request",
        method=error.method,
        url=error.url,
        reason=reason,
        attempt=attempt,
        delay_s=round(delay, 3),
        request_id=request_id,
    )
