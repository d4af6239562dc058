"""Trace context in and out of plain header mappings (AMQP and HTTP headers).

The headers are written and read by OpenTelemetry's global propagator, the one
``OTEL_PROPAGATORS`` configures (W3C trace context and baggage unless told otherwise,
B3 or Jaeger if the application installs and names them) or that the application sets
with ``opentelemetry.propagate.set_global_textmap``.

Part of `svckit.core.telemetry`, which re-exports `inject_context` and `extract_context`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry import propagate
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter, Setter, TextMapPropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = ["extract_context", "inject_context"]

_log = logging.getLogger("svckit.telemetry")

# A header value longer than this is not trace context (W3C baggage, the longest, is
# limited to 8,192 bytes): it is ignored rather than parsed.
_MAX_VALUE_LENGTH = 8192

# Propagators that read nothing but the headers their ``fields`` name. When the global
# propagator is made of these only, a message with none of those headers is not looked
# at; any other propagator (B3 also reads a single ``b3`` header, Jaeger any
# ``uberctx-`` one) always reads the headers.
_EXACT_FIELDS = (TraceContextTextMapPropagator, W3CBaggagePropagator)


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
        return value if len(value) <= _MAX_VALUE_LENGTH else None
    if isinstance(value, bytes | bytearray | memoryview) and len(value) <= _MAX_VALUE_LENGTH:
        return bytes(value).decode("utf-8", "replace")
    return None


_SETTER = _HeaderSetter()
_GETTER = _HeaderGetter()


def inject_context(headers: MutableMapping[str, Any], context: Context | None = None) -> None:
    """Write the trace context and baggage into ``headers`` with the global propagator.

    Args:
        headers: AMQP message headers or HTTP request headers. With the default
            propagator, ``traceparent`` and, when present, ``tracestate`` and
            ``baggage`` are set as ``str`` values.
        context: The context to carry; the current one by default.
    """
    propagate.get_global_textmap().inject(headers, context=context, setter=_SETTER)


def extract_context(headers: Mapping[str, Any] | None) -> Context:
    """Read the trace context and baggage that a sender put into ``headers``.

    The global propagator reads them. Header names match case-insensitively and values
    may be ``str`` or ``bytes`` (as AMQP delivers them). Missing, malformed or oversized
    headers never raise: they give an empty context, so a span started in it is a new
    root.

    Args:
        headers: The received message's or request's headers.

    Returns:
        A context to pass as the parent of the consumer's or server's span.
    """
    if not headers:
        return Context()
    propagator = propagate.get_global_textmap()
    fields = _exact_fields(propagator)
    if fields is not None and not _has_any(headers, fields):
        return Context()
    try:
        return propagator.extract(headers, context=Context(), getter=_GETTER)
    except Exception:  # noqa: BLE001 - a sender's bad headers must not fail the receiver
        _log.debug("ignoring unreadable trace context headers", exc_info=True)
        return Context()


class _Fields:
    """The header names the global propagator reads, worked out once per propagator."""

    propagator: TextMapPropagator | None = None
    fields: frozenset[str] | None = None


def _exact_fields(propagator: TextMapPropagator) -> frozenset[str] | None:
    # None when the propagator may read headers its fields do not name.
    if _Fields.propagator is not propagator:
        # A composite keeps its parts private; without them, no shortcut is taken.
        parts = getattr(propagator, "_propagators", [propagator])
        exact = all(type(part) in _EXACT_FIELDS for part in parts)
        _Fields.fields = frozenset(f.lower() for f in propagator.fields) if exact else None
        _Fields.propagator = propagator
    return _Fields.fields


def _has_any(headers: Mapping[str, Any], fields: frozenset[str]) -> bool:
    # The common spelling costs one set operation; other spellings take a scan.
    if not fields.isdisjoint(headers):
        return True
    return not fields.isdisjoint([k.lower() for k in headers if isinstance(k, str)])
