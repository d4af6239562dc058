"""Tracing and metrics through the OpenTelemetry API.

svckit depends on ``opentelemetry-api`` only: it makes spans and records metrics, and
the application's SDK (if one is installed and set as the global provider) decides
where they go. With no SDK every call here is a cheap no-op.

Tracers and meters carry the instrumentation scope ``svckit`` with svckit's version,
and the service's name as the scope attribute ``svckit.service.name`` (the resource
attribute ``service.name`` belongs to the SDK's configuration, not to svckit)::

    tracer = get_tracer(settings.service_name)
    with start_span(tracer, "orders publish", kind=SpanKind.PRODUCER, attributes={
        MESSAGING_SYSTEM: "rabbitmq",
        MESSAGING_DESTINATION_NAME: "orders",
        MESSAGING_OPERATION_TYPE: "send",
    }):
        inject_context(headers)

Trace context crosses process boundaries in a plain header mapping, the same for AMQP
and HTTP headers, written and read by OpenTelemetry's global propagator: W3C
``traceparent`` / ``tracestate`` and ``baggage`` by default, or what ``OTEL_PROPAGATORS``
(``b3``, ``jaeger``...) or ``opentelemetry.propagate.set_global_textmap`` chose.
"""

from __future__ import annotations

import logging
import threading
import traceback
import weakref
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from svckit import __version__
from svckit.core._propagation import extract_context, inject_context
from svckit.core._redact import FIELD_LIMIT, TRACEBACK_LIMIT, redact_text

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from opentelemetry.context import Context
    from opentelemetry.metrics import Counter, Histogram, Meter, UpDownCounter
    from opentelemetry.trace import Link, Span, Tracer
    from opentelemetry.util.types import Attributes

__all__ = [
    "ERROR_TYPE",
    "HTTP_REQUEST_METHOD",
    "HTTP_RESPONSE_STATUS_CODE",
    "INSTRUMENTATION_SCOPE",
    "MESSAGING_CONSUMER_GROUP_NAME",
    "MESSAGING_DESTINATION_NAME",
    "MESSAGING_MESSAGE_BODY_SIZE",
    "MESSAGING_MESSAGE_CONVERSATION_ID",
    "MESSAGING_MESSAGE_ID",
    "MESSAGING_OPERATION_NAME",
    "MESSAGING_OPERATION_TYPE",
    "MESSAGING_RABBITMQ_ROUTING_KEY",
    "MESSAGING_SYSTEM",
    "SERVER_ADDRESS",
    "SERVER_PORT",
    "SERVICE_NAME_ATTRIBUTE",
    "SVCKIT_MESSAGE_ATTEMPT",
    "URL_FULL",
    "SpanKind",
    "counter",
    "current_trace_ids",
    "extract_context",
    "get_meter",
    "get_tracer",
    "histogram",
    "inject_context",
    "record_failure",
    "start_span",
    "tracing_enabled",
    "up_down_counter",
]

#: The instrumentation scope of every tracer and meter svckit makes.
INSTRUMENTATION_SCOPE = "svckit"
#: The scope attribute that names the service a tracer or meter works for.
SERVICE_NAME_ATTRIBUTE = "svckit.service.name"

# Attribute names from the OpenTelemetry semantic conventions (messaging, HTTP, errors).
MESSAGING_SYSTEM = "messaging.system"
MESSAGING_DESTINATION_NAME = "messaging.destination.name"
MESSAGING_OPERATION_TYPE = "messaging.operation.type"
MESSAGING_OPERATION_NAME = "messaging.operation.name"
MESSAGING_MESSAGE_ID = "messaging.message.id"
MESSAGING_MESSAGE_CONVERSATION_ID = "messaging.message.conversation_id"
MESSAGING_MESSAGE_BODY_SIZE = "messaging.message.body.size"
MESSAGING_CONSUMER_GROUP_NAME = "messaging.consumer.group.name"
MESSAGING_RABBITMQ_ROUTING_KEY = "messaging.rabbitmq.destination.routing_key"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
HTTP_REQUEST_METHOD = "http.request.method"
HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
URL_FULL = "url.full"
ERROR_TYPE = "error.type"
#: svckit's own: which delivery attempt of a message this is (1 for the first).
SVCKIT_MESSAGE_ATTEMPT = "svckit.message.attempt"

# The standard library's logger: svckit.core.logging imports this module, and routes
# the standard library's records through the same processors anyway.
_log = logging.getLogger("svckit.telemetry")


def get_tracer(
    service_name: str,
    *,
    tracer_provider: trace.TracerProvider | None = None,
) -> Tracer:
    """The tracer svckit's spans are made with.

    Args:
        service_name: The service's name, set as the scope attribute
            ``svckit.service.name``.
        tracer_provider: Where the spans go; the global provider by default.
    """
    return trace.get_tracer(
        INSTRUMENTATION_SCOPE,
        __version__,
        tracer_provider,
        attributes={SERVICE_NAME_ATTRIBUTE: service_name},
    )


def get_meter(
    service_name: str,
    *,
    meter_provider: metrics.MeterProvider | None = None,
) -> Meter:
    """The meter svckit's metrics are recorded with.

    Args:
        service_name: The service's name, set as the scope attribute
            ``svckit.service.name``.
        meter_provider: Where the measurements go; the global provider by default.
    """
    return metrics.get_meter(
        INSTRUMENTATION_SCOPE,
        __version__,
        meter_provider,
        attributes={SERVICE_NAME_ATTRIBUTE: service_name},
    )


# ---------------------------------------------------------------- propagation


def tracing_enabled(tracer_provider: trace.TracerProvider | None = None) -> bool:
    """Whether spans would be recorded: a provider was given, or one was set globally.

    With neither, the OpenTelemetry API records nothing; hot paths then skip making
    spans and only pass the incoming trace context on.
    """
    return tracer_provider is not None or not isinstance(
        trace.get_tracer_provider(), trace.ProxyTracerProvider
    )


def current_trace_ids() -> tuple[str, str] | None:
    """The current span's trace id and span id in hex, or None outside a valid span."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


# ---------------------------------------------------------------- spans


@contextmanager
def start_span(
    tracer: Tracer,
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Attributes = None,
    context: Context | None = None,
    links: Sequence[Link] | None = None,
) -> Iterator[Span]:
    """Start a span, make it current for the block, and end it after.

    An exception leaving the block is recorded on the span (its message and traceback
    bounded and redacted of secrets), the span's status becomes ERROR and ``error.type`` names the
    exception's class; the exception then propagates. Cancellation (a ``BaseException``
    that is not an ``Exception``) ends the span without marking it failed.

    Args:
        tracer: From `get_tracer`.
        name: The span's name, low-cardinality (``"orders publish"``, not a message id).
        kind: PRODUCER for a publish, CONSUMER for handling a delivery, CLIENT for an
            outgoing request.
        attributes: Attributes known at the start (``MESSAGING_SYSTEM``...).
        context: The parent context, such as one from `extract_context`; the current
            context by default.
        links: Links to related spans.

    Yields:
        The span, to add attributes once they are known.
    """
    with tracer.start_as_current_span(
        name,
        context=context,
        kind=kind,
        attributes=attributes,
        links=links,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except Exception as exc:
            record_failure(span, exc)
            raise


def record_failure(span: Span, exc: Exception) -> None:
    """Record ``exc`` on ``span`` (bounded and redacted) and mark the span failed.

    The message keeps its first 2,048 characters and the traceback its last 8,192, as in
    the log.
    """
    kind = type(exc)
    type_name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    message = redact_text(str(exc), FIELD_LIMIT)
    span.record_exception(
        exc,
        attributes={
            "exception.message": message,
            "exception.stacktrace": redact_text(_format_traceback(exc), TRACEBACK_LIMIT, tail=True),
        },
        escaped=True,
    )
    span.set_attribute(ERROR_TYPE, type_name)
    span.set_status(
        Status(StatusCode.ERROR, f"{kind.__name__}: {message}" if message else kind.__name__)
    )


def _format_traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


# ---------------------------------------------------------------- metrics

_InstrumentKind = Literal["counter", "histogram", "up_down_counter"]
_instruments: weakref.WeakKeyDictionary[Meter, dict[tuple[str, str], Any]] = (
    weakref.WeakKeyDictionary()
)
_instruments_lock = threading.Lock()


def _instrument(meter: Meter, kind: _InstrumentKind, name: str, **options: Any) -> Any:
    with _instruments_lock:
        made = _instruments.setdefault(meter, {})
        instrument = made.get((kind, name))
        if instrument is None:
            instrument = getattr(meter, f"create_{kind}")(name, **options)
            made[kind, name] = instrument
        return instrument


def counter(meter: Meter, name: str, *, unit: str = "", description: str = "") -> Counter:
    """The counter ``name`` of ``meter``, created on first use and shared after.

    Args:
        meter: From `get_meter`.
        name: A dotted metric name, such as ``"svckit.messages.processed"``.
        unit: A UCUM unit, such as ``"{message}"``.
        description: What the counter counts.
    """
    result: Counter = _instrument(meter, "counter", name, unit=unit, description=description)
    return result


def up_down_counter(
    meter: Meter, name: str, *, unit: str = "", description: str = ""
) -> UpDownCounter:
    """The up-down counter ``name`` of ``meter``, created on first use and shared after.

    For a value that goes both ways, like the messages in flight.

    Args:
        meter: From `get_meter`.
        name: A dotted metric name.
        unit: A UCUM unit.
        description: What the counter measures.
    """
    result: UpDownCounter = _instrument(
        meter, "up_down_counter", name, unit=unit, description=description
    )
    return result


def histogram(
    meter: Meter,
    name: str,
    *,
    unit: str = "s",
    description: str = "",
    boundaries: Sequence[float] | None = None,
) -> Histogram:
    """The histogram ``name`` of ``meter``, created on first use and shared after.

    Args:
        meter: From `get_meter`.
        name: A dotted metric name, such as ``"svckit.handler.duration"``.
        unit: A UCUM unit; seconds by default, as the conventions ask for durations.
        description: What the histogram measures.
        boundaries: Bucket boundaries advised to the SDK (the SDK's view may override).
    """
    result: Histogram = _instrument(
        meter,
        "histogram",
        name,
        unit=unit,
        description=description,
        explicit_bucket_boundaries_advisory=boundaries,
    )
    return result
