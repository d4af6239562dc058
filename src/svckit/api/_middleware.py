"""The one ASGI middleware of an `ApiService`: request id, trust, tracing, access log, 500s.

For each HTTP request, in order:

1. the request id: ``X-Request-ID`` when it is well-formed (at most `REQUEST_ID_LIMIT`
   characters of ``[A-Za-z0-9._:-]``), otherwise a new one; echoed in the response and
   bound to the log context, so every line logged and every message published while
   handling carries it;
2. the ``Host`` header against ``trusted_hosts`` (400 problem otherwise);
3. a server span continued from the incoming trace context (``traceparent``, through
   the global propagator) unless OpenTelemetry's FastAPI instrumentation already made
   one; without an SDK, the incoming context is still made current so that published
   messages carry it on;
4. the app; an exception that escapes it is logged with its traceback and answered as
   a 500 problem with nothing of its cause; a plain-text error of Starlette's (CORS)
   is turned into a problem too;
5. one access log line: method, route template, status, duration, request id, user id.

A pure ASGI middleware, not ``BaseHTTPMiddleware``: it adds one layer, not a task and
a stream per request.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from opentelemetry.context import attach, detach
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

from svckit.api._problems import PROBLEM_JSON, problem_response
from svckit.core._propagation import extract_context
from svckit.core.logging import bind, get_logger, unbind
from svckit.core.telemetry import get_tracer, tracing_enabled

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping, Sequence

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["REQUEST_ID_HEADER", "REQUEST_ID_LIMIT", "RequestMiddleware", "valid_request_id"]

REQUEST_ID_HEADER = "X-Request-ID"
#: The longest request id accepted from a client; a longer one is replaced.
REQUEST_ID_LIMIT = 128
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,%d}" % REQUEST_ID_LIMIT)
_HEALTH_PATHS = frozenset({"/livez", "/readyz"})
#: The route of a request that matched none, so that logs and spans stay low-cardinality.
UNMATCHED = "<unmatched>"

_access = get_logger("svckit.access")
_log = get_logger("svckit.api")


def valid_request_id(value: bytes) -> str | None:
    """``value`` as a request id when it is well-formed, else None."""
    return value.decode("ascii") if _REQUEST_ID.fullmatch(value) else None


class RequestMiddleware:
    """See the module docs. ``app`` is the FastAPI app's inner stack."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        service_name: str,
        trusted_hosts: Sequence[str] = ("*",),
        instrumented: Callable[[], bool] = lambda: False,
    ) -> None:
        """Wrap ``app``; ``instrumented`` says whether OpenTelemetry's FastAPI one is on."""
        self.app = app
        self._tracer = get_tracer(service_name)
        hosts = [host.lower() for host in trusted_hosts]
        self._any_host = "*" in hosts
        self._hosts = frozenset(h for h in hosts if not h.startswith("*."))
        self._suffixes = tuple(h[1:] for h in hosts if h.startswith("*."))
        self._instrumented = instrumented
        self._tracing_on = False
        self._tracing_checked = 0.0

    def _tracing(self) -> bool:
        """Whether spans are recorded; a provider set later is seen within a second."""
        if self._tracing_on:
            return True
        now = time.monotonic()
        if now >= self._tracing_checked:
            self._tracing_on = tracing_enabled()
            self._tracing_checked = now + 1.0
        return self._tracing_on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: C901, PLR0912, PLR0915 - one flat pass per request
        """Handle one request (see the module docs); other scopes pass through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id: str | None = None
        host = b""
        carrier: dict[str, str] = {}
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                request_id = valid_request_id(value)
            elif key == b"host":
                host = value
            elif key in (b"traceparent", b"tracestate", b"baggage", b"b3"):
                carrier[key.decode("latin-1")] = value.decode("latin-1")
        if request_id is None:
            request_id = os.urandom(16).hex()  # a UUID4's randomness, without the object
        encoded_id = request_id.encode("ascii")
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        response: dict[str, Any] = {"status": 500, "started": False, "rewrite": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                headers = list(message.get("headers", ()))
                if message["status"] >= 400 and _is_plain_text(headers):  # noqa: PLR2004
                    # Starlette's own plain-text errors (CORS): answered as a problem.
                    response["rewrite"] = True
                    return
                headers.append((b"x-request-id", encoded_id))
                message["headers"] = headers
                response["started"] = True
            elif response["rewrite"]:
                if not message.get("more_body", False):
                    await _send_problem(send, response["status"], encoded_id)
                    response["started"] = True
                return
            await send(message)

        parent = extract_context(carrier) if carrier else None
        span = None
        if not self._instrumented() and self._tracing():
            span = self._tracer.start_span(
                f"{scope['method']}",
                context=parent,
                kind=SpanKind.SERVER,
                attributes={"http.request.method": scope["method"], "url.path": scope["path"]},
            )
            parent = set_span_in_context(span, parent)
        context_token = attach(parent) if parent is not None else None
        log_token = bind(request_id=request_id)
        try:
            if self.trusted(host):
                await self.app(scope, receive, send_with_id)
            else:
                response["status"] = 400
                await _send_problem(
                    send, 400, encoded_id, detail="the Host header names no host this API serves"
                )
                response["started"] = True
        except Exception as exc:  # noqa: BLE001 - answered as a 500, logged with its traceback
            _log.error("request failed", exc_info=exc, path=_route_of(scope))
            if span is not None:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            response["status"] = 500
            if not response["started"]:
                await _send_problem(send, 500, encoded_id)
        finally:
            route = _route_of(scope)
            status = response["status"]
            fields = {
                "method": scope["method"],
                "route": route,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            }
            user_id = state.get("user_id")
            if user_id is not None:
                fields["user_id"] = user_id
            # From the loop's next turn, in a copy of this context (request id, span): the
            # loggers look for their caller up the stack, which is deep here and short there.
            emit = _access.debug if scope["path"] in _HEALTH_PATHS else _access.info
            _loop().call_soon(partial(emit, "request", **fields))
            unbind(log_token)
            if span is not None:
                span.update_name(f"{scope['method']} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:  # noqa: PLR2004
                    span.set_status(Status(StatusCode.ERROR))
                span.end()
            if context_token is not None:
                detach(context_token)

    def trusted(self, host: bytes) -> bool:
        """Whether a request with this ``Host`` header is answered."""
        if self._any_host:
            return True
        name = host.decode("latin-1").lower()
        # An IPv6 literal keeps its brackets; a port is dropped.
        name = name.partition("]")[0] + "]" if name.startswith("[") else name.partition(":")[0]
        return name in self._hosts or any(name.endswith(s) for s in self._suffixes)


_loop = asyncio.get_running_loop


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    if route is None and "endpoint" in scope:
        # A plain Starlette route (the docs' own) records its endpoint, not itself.
        endpoint = scope["endpoint"]
        routes = getattr(scope.get("app"), "routes", ())
        route = next((r for r in routes if getattr(r, "endpoint", None) is endpoint), None)
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return UNMATCHED


def _is_plain_text(headers: list[tuple[bytes, bytes]]) -> bool:
    for key, value in headers:
        if key.lower() == b"content-type":
            return value.startswith(b"text/plain")
    return False


async def _send_problem(
    send: Send, status: int, request_id: bytes, *, detail: str | None = None
) -> None:
    response = problem_response(status, detail=detail)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(response.body)).encode()),
                (b"x-request-id", request_id),
            ],
        }
    )
    await send({"type": "http.response.body", "body": response.body})
