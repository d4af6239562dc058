"""Tracing under ``svckit run`` with a few lines of code: set the SDK up on import.

``svckit run tracing_setup:Shop`` imports this module before it makes the service, so
the SDK is in place before the bus exists. Run this file (``python tracing_setup.py``)
to see one order's trace printed: the publish span and the process span share a trace
id. Needs ``pip install opentelemetry-sdk``.
"""

from __future__ import annotations

import asyncio

# --8<-- [start:imports]
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

# --8<-- [end:imports]
from svckit import get_logger
from svckit.messaging import Event, MemoryTransport
from svckit.worker import WorkerService, WorkerSettings, consumer


# --8<-- [start:setup]
def configure_tracing() -> None:
    """Make the OpenTelemetry SDK the global tracer provider (once per process)."""
    # The service name comes from OTEL_SERVICE_NAME. The provider exports what it still
    # holds when the process exits.
    provider = TracerProvider()
    # In production, an OTLPSpanExporter (pip install opentelemetry-exporter-otlp)
    # sends the spans to a collector; the console exporter prints them.
    provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)


configure_tracing()
# --8<-- [end:setup]

log = get_logger(__name__)


class OrderPlaced(Event, topic="orders.placed"):
    order_id: int


class Shop(WorkerService):
    """Reserves stock for each order."""

    @consumer()
    async def reserve_stock(self, order: OrderPlaced) -> None:
        log.info("stock reserved", order_id=order.order_id)


async def main() -> None:
    shop = Shop(WorkerSettings(service_name="shop", health_port=None))
    async with shop:  # what `svckit run` does, until a signal stops it
        await shop.publish(OrderPlaced(order_id=1))
        transport = shop.bus.transport
        assert isinstance(transport, MemoryTransport)
        await transport.broker.wait_idle()


if __name__ == "__main__":
    asyncio.run(main())  # the spans are printed as the process exits
