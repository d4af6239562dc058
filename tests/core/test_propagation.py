"""Trace context crosses messages with whatever propagator OpenTelemetry is configured with."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import (
    CarrierT,
    DefaultGetter,
    DefaultSetter,
    Getter,
    Setter,
    TextMapPropagator,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from svckit.core.telemetry import current_trace_ids, extract_context, inject_context
from svckit.messaging import Bus, Event, Incoming, consumer

if TYPE_CHECKING:
    from collections.abc import Iterator


class OneHeaderPropagator(TextMapPropagator):
    """A propagator of its own header, ``x-test-trace: <trace id>-<span id>``.

    Like B3, it also reads a second spelling (``x-test-single``) that its ``fields`` do
    not name.
    """

    def inject(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        setter: Setter[CarrierT] = DefaultSetter(),  # type: ignore[assignment]  # noqa: B008
    ) -> None:
        span_context = trace.get_current_span(context).get_span_context()
        if span_context.is_valid:
            value = f"{span_context.trace_id:032x}-{span_context.span_id:016x}"
            setter.set(carrier, "x-test-trace", value)

    def extract(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        getter: Getter[CarrierT] = DefaultGetter(),  # type: ignore[assignment]  # noqa: B008
    ) -> Context:
        values = getter.get(carrier, "x-test-trace") or getter.get(carrier, "x-test-single")
        if not values:
            return context or Context()
        trace_id, span_id = values[0].split("-")
        span_context = trace.SpanContext(
            trace_id=int(trace_id, 16),
            span_id=int(span_id, 16),
            is_remote=True,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
        )
        return trace.set_span_in_context(trace.NonRecordingSpan(span_context), context)

    @property
    def fields(self) -> set[str]:
        return {"x-test-trace"}


@pytest.fixture
def one_header_propagator() -> Iterator[OneHeaderPropagator]:
    previous = propagate.get_global_textmap()
    propagator = OneHeaderPropagator()
    propagate.set_global_textmap(propagator)
    yield propagator
    propagate.set_global_textmap(previous)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


class Ping(Event, topic="tests.ping"):
    n: int


@pytest.mark.usefixtures("one_header_propagator")
def test_headers_are_written_and_read_by_the_global_propagator(
    tracer_provider: TracerProvider,
) -> None:
    headers: dict[str, Any] = {}
    with tracer_provider.get_tracer("t").start_as_current_span("send") as span:
        inject_context(headers)
    ids = span.get_span_context()
    assert headers == {"x-test-trace": f"{ids.trace_id:032x}-{ids.span_id:016x}"}

    received = trace.get_current_span(extract_context(headers)).get_span_context()
    assert (received.trace_id, received.span_id) == (ids.trace_id, ids.span_id)
    # A header the propagator reads though its fields do not name it is read all the same.
    single = extract_context({"x-test-single": headers["x-test-trace"]})
    assert trace.get_current_span(single).get_span_context().trace_id == ids.trace_id


@pytest.mark.usefixtures("one_header_propagator")
async def test_a_consumer_continues_the_trace_of_the_publisher(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    seen: list[tuple[dict[str, Any], tuple[str, str] | None]] = []
    handled = asyncio.Event()

    @consumer()
    async def on_ping(_: Ping, incoming: Incoming) -> None:
        seen.append((dict(incoming.headers), current_trace_ids()))
        handled.set()

    bus = Bus(f"memory://{uuid.uuid4().hex}", service="prop", tracer_provider=tracer_provider)
    ping = bus.add_consumer(on_ping)
    async with bus:
        await ping.start()
        message_id = await bus.publish(Ping(n=1))
        async with asyncio.timeout(5):
            await handled.wait()
        await ping.stop()

    spans = exporter.get_finished_spans()
    publish = next(s for s in spans if s.kind is SpanKind.PRODUCER)
    process = next(s for s in spans if s.kind is SpanKind.CONSUMER)
    assert publish.attributes is not None
    assert publish.attributes["messaging.message.id"] == message_id
    assert publish.context is not None
    assert process.context is not None
    assert process.context.trace_id == publish.context.trace_id
    assert process.parent is not None
    assert process.parent.span_id == publish.context.span_id

    ((headers, ids),) = seen
    assert "x-test-trace" in headers
    assert "traceparent" not in headers
    assert ids is not None
    assert ids[0] == format(publish.context.trace_id, "032x")


@pytest.mark.usefixtures("one_header_propagator")
async def test_without_tracing_the_handler_still_runs_in_the_senders_trace(
    tracer_provider: TracerProvider,
) -> None:
    seen: list[tuple[str, str] | None] = []
    carried: list[set[str]] = []
    handled = asyncio.Event()

    @consumer()
    async def on_ping(_: Ping, incoming: Incoming) -> None:
        seen.append(current_trace_ids())
        carried.append({"x-test-trace", "traceparent"} & set(incoming.headers))
        handled.set()

    # The bus records no spans of its own: it only passes the context on.
    bus = Bus(f"memory://{uuid.uuid4().hex}", service="prop")
    ping = bus.add_consumer(on_ping)
    async with bus:
        await ping.start()
        with tracer_provider.get_tracer("t").start_as_current_span("request") as span:
            await bus.publish(Ping(n=1))
        async with asyncio.timeout(5):
            await handled.wait()
        await ping.stop()

    sender = span.get_span_context()
    assert seen == [(f"{sender.trace_id:032x}", f"{sender.span_id:016x}")]
    assert carried == [{"x-test-trace"}]
