"""W3C trace context in and out of plain header mappings (AMQP and HTTP headers).

Part of `svckit.core.telemetry`, which re-exports `inject_context` and `extract_context`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import Getter, Setter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = ["extract_context", "inject_context"]

_log = logging.getLogger("svckit.telemetry")

# W3C trace context and baggage, whatever the process's global propagator is, so the
# headers svckit writes are the same in every service.
_PROPAGATOR = CompositePropagator(
    [TraceContextTextMapPropagator(), W3CBaggagePropagator()],
)


class _HeaderSetter(Setter[MutableMapping[str, Any]]):
    def set(self, carrier: MutableMapping[str, Any], key: str, value: str) -> None:
        carrier[key] = value


class _HeaderGetter(Getter[Mapping[str, Any]]):
    def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
        value = carrier.get(key)
        if value is None:
            # Header names are case-insensitive in HTTP, and AMQP clients vary.
            wanted = key.lower()
            value = next(
                (v for k, v in carrier.items() if isinstance(k, str) and k.lower() == wanted),
                None,
            )
        values = value if isinstance(value, list | tuple) else [value]
        decoded = [text for item in values if (text := _as_text(item)) is not None]
        return decoded or None

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return [key for key in carrier if isinstance(key, str)]


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return None


_SETTER = _HeaderSetter()
_GETTER = _HeaderGetter()


def inject_context(headers: MutableMapping[str, Any], context: Context | None = None) -> None:
    """Write the trace context and baggage into ``headers``.

    Args:
        headers: AMQP message headers or HTTP request headers; ``traceparent`` and, when
            present, ``tracestate`` and ``baggage`` are set as ``str`` values.
        context: The context to carry; the current one by default.
    """
    _PROPAGATOR.inject(headers, context=context, setter=_SETTER)


def extract_context(headers: Mapping[str, Any] | None) -> Context:
    """Read the trace context and baggage that a sender put into ``headers``.

    Header names match case-insensitively and values may be ``str`` or ``bytes`` (as
    AMQP delivers them). Missing or malformed headers never raise: they give an empty
    context, so a span started in it is a new root.

    Args:
        headers: The received message's or request's headers.

    Returns:
        A context to pass as the parent of the consumer's or server's span.
    """
    if not headers or not _has_trace_headers(headers):
        return Context()
    try:
        return _PROPAGATOR.extract(headers, context=Context(), getter=_GETTER)
    except Exception:  # noqa: BLE001 - a sender's bad headers must not fail the receiver
        _log.debug("ignoring unreadable trace context headers", exc_info=True)
        return Context()


_TRACE_HEADERS = frozenset({"traceparent", "baggage"})


def _has_trace_headers(headers: Mapping[str, Any]) -> bool:
    # The common case costs two lookups; other spellings of the names take a scan.
    if "traceparent" in headers or "baggage" in headers:
        return True
    return any(isinstance(k, str) and k.lower() in _TRACE_HEADERS for k in headers)
