"""Tracing and metrics: spans, trace context across headers, instruments made once."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import svckit
from svckit.core._redact import FIELD_LIMIT, TRACEBACK_LIMIT
from svckit.core.telemetry import (
    ERROR_TYPE,
    INSTRUMENTATION_SCOPE,
    MESSAGING_DESTINATION_NAME,
    MESSAGING_MESSAGE_ID,
    MESSAGING_OPERATION_TYPE,
    MESSAGING_SYSTEM,
    SERVICE_NAME_ATTRIBUTE,
    SpanKind,
    counter,
    current_trace_ids,
    extract_context,
    get_meter,
    get_tracer,
    histogram,
    inject_context,
    start_span,
    up_down_counter,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from opentelemetry.sdk.metrics.export import Metric

# Providers are passed explicitly: OpenTelemetry lets the global provider be set once.


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exporter: InMemorySpanExporter) -> Iterator[trace.Tracer]:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield get_tracer("orders", tracer_provider=provider)
    provider.shutdown()


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    yield provider
    provider.shutdown()


def finished(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    (span,) = [s for s in exporter.get_finished_spans() if s.name == name]
    return span


def metric(reader: InMemoryMetricReader, name: str) -> Metric:
    data = reader.get_metrics_data()
    assert data is not None
    found = [
        m
        for resource_metrics in data.resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for m in scope_metrics.metrics
        if m.name == name
    ]
    assert len(found) == 1, f"{name} reported {len(found)} times"
    return found[0]


def test_spans_carry_the_svckit_scope_and_the_service_name(
    tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    with start_span(tracer, "work"):
        pass
    scope = finished(exporter, "work").instrumentation_scope
    assert scope is not None
    assert scope.name == INSTRUMENTATION_SCOPE == "svckit"
    assert scope.version == svckit.__version__
    assert scope.attributes == {SERVICE_NAME_ATTRIBUTE: "orders"}


def test_context_injected_on_publish_parents_the_consumer_span(
    tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    headers: dict[str, Any] = {"x-attempt": 1}
    producer_attributes = {
        MESSAGING_SYSTEM: "rabbitmq",
        MESSAGING_DESTINATION_NAME: "orders",
        MESSAGING_OPERATION_TYPE: "send",
        MESSAGING_MESSAGE_ID: "m-1",
    }
    with start_span(tracer, "orders send", kind=SpanKind.PRODUCER, attributes=producer_attributes):
        inject_context(headers)

    assert isinstance(headers["traceparent"], str)
    assert headers["x-attempt"] == 1
    with start_span(
        tracer, "orders process", kind=SpanKind.CONSUMER, context=extract_context(headers)
    ):
        pass

    producer = finished(exporter, "orders send")
    consumer = finished(exporter, "orders process")
    assert producer.kind is SpanKind.PRODUCER
    assert consumer.kind is SpanKind.CONSUMER
    assert dict(producer.attributes or {}) == producer_attributes
    assert consumer.context is not None
    assert producer.context is not None
    assert consumer.context.trace_id == producer.context.trace_id
    assert consumer.parent is not None
    assert consumer.parent.span_id == producer.context.span_id
    assert consumer.parent.is_remote


def test_bytes_values_and_any_header_case_are_understood(
    tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    sent: dict[str, Any] = {}
    with start_span(tracer, "publish", kind=SpanKind.PRODUCER):
        inject_context(sent)
    # As an AMQP client may hand them over: bytes values, names in another case.
    received = {key.title(): str(value).encode() for key, value in sent.items()}
    assert "Traceparent" in received

    with start_span(tracer, "consume", kind=SpanKind.CONSUMER, context=extract_context(received)):
        pass

    producer = finished(exporter, "publish")
    consumer = finished(exporter, "consume")
    assert consumer.parent is not None
    assert producer.context is not None
    assert consumer.parent.span_id == producer.context.span_id


def test_tracestate_and_baggage_travel_too() -> None:
    sent: dict[str, Any] = {}
    parent = trace.set_span_in_context(
        trace.NonRecordingSpan(
            trace.SpanContext(
                trace_id=0x0AF7651916CD43DD8448EB211C80319C,
                span_id=0xB7AD6B7169203331,
                is_remote=True,
                trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
                trace_state=trace.TraceState([("vendor", "abc")]),
            )
        )
    )
    outgoing = baggage.set_baggage("tenant", "acme", context=parent)
    inject_context(sent, outgoing)
    assert sent["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert sent["tracestate"] == "vendor=abc"

    received = extract_context({key: value.encode() for key, value in sent.items()})
    assert baggage.get_baggage("tenant", received) == "acme"
    span_context = trace.get_current_span(received).get_span_context()
    assert span_context.trace_state.get("vendor") == "abc"
    assert span_context.span_id == 0xB7AD6B7169203331


def test_inject_uses_the_current_span_by_default(tracer: trace.Tracer) -> None:
    headers: dict[str, Any] = {}
    with start_span(tracer, "outgoing", kind=SpanKind.CLIENT) as span:
        inject_context(headers)
        ids = current_trace_ids()
    context = span.get_span_context()
    assert ids == (format(context.trace_id, "032x"), format(context.span_id, "016x"))
    assert headers["traceparent"].split("-")[1:3] == list(ids)


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {},
        {"content-type": "application/json"},
        {"traceparent": "garbage"},
        {"traceparent": b"\xff\xfe\x00"},
        {"traceparent": 12345},
        {"traceparent": "00-00000000000000000000000000000000-0000000000000000-01"},
        {"traceparent": ["not", "valid"], "baggage": "%%%;;=="},
        {"baggage": "=" * 10_000},
        {1: "not a str key"},
    ],
)
def test_missing_or_garbage_headers_give_a_root_context(
    headers: dict[Any, Any] | None,
    tracer: trace.Tracer,
    exporter: InMemorySpanExporter,
) -> None:
    with start_span(tracer, "unrelated current span"):
        context = extract_context(headers)
        with start_span(tracer, "consume", context=context):
            pass
    assert not trace.get_current_span(context).get_span_context().is_valid
    assert finished(exporter, "consume").parent is None


@given(
    st.dictionaries(
        st.text(max_size=20) | st.sampled_from(["traceparent", "tracestate", "baggage"]),
        st.none() | st.integers() | st.text() | st.binary() | st.lists(st.text(), max_size=3),
        max_size=5,
    )
)
def test_no_headers_make_extract_raise(headers: dict[str, Any]) -> None:
    assert isinstance(extract_context(headers), Context)


def test_a_failure_is_recorded_redacted_with_error_status(
    tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    def connect() -> None:
        raise ConnectionError("cannot reach amqp://app:hunter2@rabbit/")

    with pytest.raises(ConnectionError), start_span(tracer, "connect", kind=SpanKind.CLIENT):
        connect()

    span = finished(exporter, "connect")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "ConnectionError: cannot reach amqp://app:***@rabbit/"
    assert (span.attributes or {})[ERROR_TYPE] == "ConnectionError"
    (event,) = span.events
    attributes = dict(event.attributes or {})
    assert event.name == "exception"
    assert attributes["exception.type"] == "ConnectionError"
    assert attributes["exception.message"] == "cannot reach amqp://app:***@rabbit/"
    assert "in connect" in str(attributes["exception.stacktrace"])
    assert "hunter2" not in str(attributes)


def test_a_huge_failure_is_recorded_bounded(
    tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    huge = "x-api-key=Zq-planted " + "e" * 100_000

    def fail() -> None:
        raise ValueError(huge)

    with pytest.raises(ValueError, match="x-api-key"), start_span(tracer, "work"):
        fail()

    span = finished(exporter, "work")
    (event,) = span.events
    attributes = dict(event.attributes or {})
    assert len(str(attributes["exception.message"])) < FIELD_LIMIT + 20
    assert len(str(attributes["exception.stacktrace"])) < TRACEBACK_LIMIT + 20
    assert len(span.status.description or "") < FIELD_LIMIT + 40
    assert "Zq-planted" not in str(attributes)


def test_error_type_names_the_module_of_non_builtin_errors(
    tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(svckit.PublishError), start_span(tracer, "publish"):
        raise svckit.PublishError("nack")
    attributes = finished(exporter, "publish").attributes or {}
    assert attributes[ERROR_TYPE] == "svckit.core.errors.PublishError"


async def test_cancellation_ends_the_span_without_marking_it_failed(
    tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    entered = asyncio.Event()

    async def handler() -> None:
        with start_span(tracer, "handle", kind=SpanKind.CONSUMER):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(handler())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    span = finished(exporter, "handle")
    assert span.end_time is not None
    assert span.status.status_code is StatusCode.UNSET
    assert not span.events


def test_no_current_span_means_no_trace_ids() -> None:
    assert current_trace_ids() is None


def test_spans_without_an_sdk_are_harmless() -> None:
    tracer = get_tracer("orders", tracer_provider=trace.NoOpTracerProvider())
    headers: dict[str, Any] = {}
    with start_span(tracer, "work") as span:
        inject_context(headers)
    assert not span.is_recording()
    assert headers == {}


def test_instruments_are_made_once_per_meter_and_name(meter_provider: MeterProvider) -> None:
    meter = get_meter("worker", meter_provider=meter_provider)
    first = counter(meter, "svckit.messages.processed", unit="{message}")
    assert counter(meter, "svckit.messages.processed", unit="{message}") is first
    duration = histogram(meter, "svckit.handler.duration")
    assert histogram(meter, "svckit.handler.duration") is duration
    other_meter = get_meter("api", meter_provider=meter_provider)
    assert counter(other_meter, "svckit.messages.processed") is not first


def test_measurements_reach_the_sdk_with_the_svckit_scope(
    meter_provider: MeterProvider, reader: InMemoryMetricReader
) -> None:
    meter = get_meter("worker", meter_provider=meter_provider)
    counter(meter, "svckit.messages.processed", unit="{message}").add(2, {"topic": "a"})
    counter(meter, "svckit.messages.processed", unit="{message}").add(3, {"topic": "a"})
    up_down_counter(meter, "svckit.messages.in_flight").add(1)
    histogram(meter, "svckit.handler.duration", boundaries=[0.1, 1.0]).record(0.5)

    processed = metric(reader, "svckit.messages.processed")
    assert processed.unit == "{message}"
    (point,) = processed.data.data_points
    assert point.value == 5  # type: ignore[union-attr]
    assert dict(point.attributes or {}) == {"topic": "a"}
    (duration,) = metric(reader, "svckit.handler.duration").data.data_points
    assert duration.explicit_bounds == (0.1, 1.0)  # type: ignore[union-attr]
    assert duration.bucket_counts == (0, 1, 0)  # type: ignore[union-attr]
    (in_flight,) = metric(reader, "svckit.messages.in_flight").data.data_points
    assert in_flight.value == 1  # type: ignore[union-attr]
    data = reader.get_metrics_data()
    assert data is not None
    scope = data.resource_metrics[0].scope_metrics[0].scope
    assert (scope.name, scope.version) == ("svckit", svckit.__version__)
    assert scope.attributes == {SERVICE_NAME_ATTRIBUTE: "worker"}


def test_instruments_without_an_sdk_accept_measurements() -> None:
    meter = get_meter("worker", meter_provider=NoOpMeterProvider())
    processed = counter(meter, "svckit.messages.processed")
    processed.add(1)
    histogram(meter, "svckit.handler.duration").record(0.1)
    assert counter(meter, "svckit.messages.processed") is processed


def test_extract_ignores_the_receivers_own_baggage() -> None:
    token = otel_context.attach(baggage.set_baggage("tenant", "local"))
    try:
        received = extract_context({"traceparent": "garbage", "x-other": "1"})
    finally:
        otel_context.detach(token)
    assert baggage.get_all(received) == {}
