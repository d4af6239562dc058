"""One try of a call: build the request, send it inside a CLIENT span, translate failures."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from svckit.core._redact import redact_text
from svckit.core.telemetry import SpanKind, inject_context, start_span
from svckit.http._errors import HttpError, HttpTimeout, HttpTransportError
from svckit.http._lib import httpx
from svckit.http._observe import log_request, mark_response, safe_url, span_attributes

if TYPE_CHECKING:
    from collections.abc import Mapping

    from opentelemetry.trace import Tracer

__all__ = ["redact_url", "send_once"]

# Which of the library's timeouts expired, by its exception type.
_PHASES: tuple[tuple[type[httpx.TimeoutException], str], ...] = (
    (httpx.ConnectTimeout, "connect"),
    (httpx.ReadTimeout, "read"),
    (httpx.WriteTimeout, "write"),
    (httpx.PoolTimeout, "pool"),
)


async def send_once(
    client: httpx.AsyncClient,
    tracer: Tracer,
    method: str,
    url: str,
    *,
    headers: httpx.Headers,
    passed: Mapping[str, Any],
    request_id: str,
    attempt: int,
) -> httpx.Response:
    """Send one request and read its answer, whatever its status.

    Args:
        client: The open pool.
        tracer: Makes the CLIENT span.
        method: The method, upper case.
        url: Relative to the client's base URL, or absolute.
        headers: The call's headers, ``X-Request-ID`` included; the trace context is
            added to a copy.
        passed: Query, body and timeout options, handed to the library as they are.
        request_id: For the log line.
        attempt: Which try this is, from 1.

    Raises:
        HttpTimeout: A timeout expired.
        HttpTransportError: No answer came (refused, reset, a broken response).
        HttpError: The request could not be made at all.
    """
    try:
        # Built anew for each try: the trace context differs from try to try.
        request = client.build_request(method, url, headers=headers, **passed)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        shown = redact_url(url)
        raise HttpError(f"{method} {shown}: invalid URL", method=method, url=shown) from exc
    target = safe_url(request.url)
    started = time.perf_counter()
    with start_span(
        tracer,
        method,
        kind=SpanKind.CLIENT,
        attributes=span_attributes(method, request.url, target, attempt),
    ) as span:
        inject_context(request.headers)
        try:
            response = await client.send(request)
        except httpx.HTTPError as exc:
            log_request(
                method,
                target,
                request_id=request_id,
                attempt=attempt,
                seconds=time.perf_counter() - started,
                error=exc,
            )
            raise _translated(exc, method, target) from exc
        mark_response(span, response.status_code)
    log_request(
        method,
        target,
        request_id=request_id,
        attempt=attempt,
        seconds=time.perf_counter() - started,
        status=response.status_code,
    )
    return response


def _translated(exc: httpx.HTTPError, method: str, target: str) -> HttpError:
    if isinstance(exc, httpx.TimeoutException):
        phase = next((name for kind, name in _PHASES if isinstance(exc, kind)), "read")
        return HttpTimeout(
            f"{method} {target}: {phase} timeout", method=method, url=target, phase=phase
        )
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return HttpTransportError(
            f"{method} {target}: no response ({type(exc).__name__})", method=method, url=target
        )
    return HttpError(f"{method} {target}: {type(exc).__name__}", method=method, url=target)


def redact_url(raw: str) -> str:
    """A URL given as text, safe to show even when it does not parse."""
    try:
        return safe_url(httpx.URL(raw))
    except httpx.InvalidURL:
        return redact_text(raw)
