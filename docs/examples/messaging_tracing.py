"""Observability: one trace from publish to consume, and the bus's metrics.

Run it as is (``python docs/examples/messaging_tracing.py``); it uses the embedded broker
and the OpenTelemetry SDK (``pip install opentelemetry-sdk``) with in-memory exporters.
"""

from __future__ import annotations

import asyncio

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from svckit.messaging import Bus, Event, MemoryTransport, consumer


class OrderPlaced(Event, topic="orders.placed"):
    order_id: int


@consumer()
async def reserve_stock(order: OrderPlaced) -> None: ...


def metric_totals(reader: InMemoryMetricReader) -> dict[str, float]:
    """Each metric's total: a counter's sum, or a histogram's count of recordings."""
    totals: dict[str, float] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    if value is None:
                        value = getattr(point, "count", 0)
                    totals[metric.name] = totals.get(metric.name, 0) + float(value or 0)
    return totals


async def main(bus_url: str = "memory://") -> None:
    # --8<-- [start:providers]
    # Usually set once for the process (trace.set_tracer_provider, metrics.set_meter_provider)
    # with OTLP exporters; the bus then uses the global providers by itself.
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    metric_reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[metric_reader])

    bus = Bus(
        bus_url,
        service="shop",
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    # --8<-- [end:providers]
    stock = bus.add_consumer(reserve_stock)
    async with bus:
        await stock.start()
        await bus.publish(OrderPlaced(order_id=1))
        transport = bus.transport
        assert isinstance(transport, MemoryTransport)
        await transport.broker.wait_idle()
        await stock.stop()

    # --8<-- [start:spans]
    publish, process = sorted(spans.get_finished_spans(), key=lambda span: span.kind.value)
    assert (publish.name, publish.kind) == ("orders.placed publish", SpanKind.PRODUCER)
    assert (process.name, process.kind) == ("shop.reserve_stock process", SpanKind.CONSUMER)
    # The trace context rode in the message's headers: one trace, publish -> process.
    assert publish.context is not None
    assert process.context is not None
    assert process.context.trace_id == publish.context.trace_id
    assert process.parent is not None
    assert process.parent.span_id == publish.context.span_id
    assert process.attributes is not None
    assert process.attributes["messaging.destination.name"] == "shop.reserve_stock"
    assert process.attributes["svckit.message.attempt"] == 1
    # --8<-- [end:spans]

    # --8<-- [start:metrics]
    totals = metric_totals(metric_reader)
    assert totals["svckit.messages.published"] == 1
    assert totals["svckit.messages.processed"] == 1
    assert totals["svckit.handler.duration"] == 1  # one recording, in seconds
    # --8<-- [end:metrics]
    tracer_provider.shutdown()
    meter_provider.shutdown()
    print(f"trace {publish.context.trace_id:032x}: {publish.name} -> {process.name}")
    print(totals)


if __name__ == "__main__":
    asyncio.run(main())
