"""Publish and consume spans share one trace; the bus counts what it does."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from svckit import RetryPolicy
from svckit.core.logging import bound
from svckit.core.telemetry import current_trace_ids
from svckit.messaging import Bus, Event, Incoming, consumer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.messaging.conftest import Recorder


class Signup(Event, topic="users.signup"):
    user_id: int


def _counters(reader: InMemoryMetricReader) -> dict[str, float]:
    data = reader.get_metrics_data()
    totals: dict[str, float] = {}
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    # A counter's point has a value; a histogram's, a count.
                    value = getattr(point, "value", None)
                    if value is None:
                        value = getattr(point, "count", 0)
                    totals[metric.name] = totals.get(metric.name, 0) + float(value or 0)
    return totals


@pytest.fixture
def telemetry() -> Iterator[tuple[InMemorySpanExporter, TracerProvider, Any, MeterProvider]]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield exporter, tracer_provider, reader, meter_provider
    tracer_provider.shutdown()
    meter_provider.shutdown()


async def test_consume_span_continues_the_publish_trace_and_logs_carry_ids(
    recorder: Recorder,
    telemetry: tuple[InMemorySpanExporter, TracerProvider, InMemoryMetricReader, MeterProvider],
) -> None:
    exporter, tracer_provider, reader, meter_provider = telemetry

    @consumer(retry=RetryPolicy(attempts=2, initial_delay=0.01, jitter=0))
    async def welcome(event: Signup, incoming: Incoming) -> None:
        context = bound()
        await recorder.add((incoming.message_id, context.get("message_id"), current_trace_ids()))
        if event.user_id == 2:
            raise RuntimeError("mail server down")

    bus = Bus(
        f"memory://{uuid.uuid4().hex}",
        service="obs",
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    c = bus.add_consumer(welcome)
    async with bus:
        await c.start()
        first = await bus.publish(Signup(user_id=1))
        await bus.publish(Signup(user_id=2))
        await recorder.wait_for(3)
        await bus.transport.broker.wait_idle()  # type: ignore[attr-defined]
        await c.stop()

    spans = exporter.get_finished_spans()
    publish = next(
        s
        for s in spans
        if s.kind is SpanKind.PRODUCER
        and s.attributes
        and s.attributes.get("messaging.message.id") == first
    )
    process = next(
        s
        for s in spans
        if s.kind is SpanKind.CONSUMER
        and s.attributes
        and s.attributes.get("messaging.message.id") == first
    )
    assert publish.name == "users.signup publish"
    assert process.name == "obs.welcome process"
    assert process.context is not None
    assert publish.context is not None
    assert process.context.trace_id == publish.context.trace_id
    assert process.parent is not None
    assert process.parent.span_id == publish.context.span_id

    failed = [s for s in spans if s.kind is SpanKind.CONSUMER and not s.status.is_ok]
    assert len(failed) == 2, "each failed try is a failed consume span"
    assert failed[0].attributes is not None
    assert failed[0].attributes["error.type"] == "RuntimeError"

    message_id, logged_id, trace_ids = recorder.items[0]
    assert logged_id == message_id == first
    assert trace_ids is not None
    assert trace_ids[0] == format(publish.context.trace_id, "032x")

    counts = _counters(reader)
    assert counts["svckit.messages.published"] == 2
    assert counts["svckit.messages.processed"] == 1
    assert counts["svckit.messages.failed"] == 2
    assert counts["svckit.messages.retried"] == 1
    assert counts["svckit.messages.dead_lettered"] == 1
    assert counts["svckit.handler.duration"] == 3
