"""Interoperability with plain AMQP clients, on the real RabbitMQ.

A service written without svckit (here: bare aio-pika) must be able to publish to svckit
consumers and to read what svckit publishes: the body is the model's plain JSON, and the
metadata rides in standard AMQP properties and a few headers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import aio_pika
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from svckit.messaging import Bus, Event, Headers, Incoming, consumer

from ._amqp_helpers import AMQP_URL, delete_topology, message_count, unique, wait_until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

pytestmark = [pytest.mark.rabbitmq, pytest.mark.timeout(60)]


class InvoicePaid(Event, topic="billing.invoice.paid", version=3):
    invoice_id: int
    amount_cents: int
    currency: str


@pytest.fixture
async def plain() -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A channel of a plain aio-pika connection, with publisher confirms."""
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        yield await connection.channel(publisher_confirms=True)


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """An SDK tracer provider given to the bus (the global one is left alone)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


async def test_a_plain_aio_pika_message_reaches_model_dict_and_bytes_handlers(
    plain: aio_pika.abc.AbstractChannel,
) -> None:
    typed: list[tuple[InvoicePaid, Incoming]] = []
    as_dict: list[dict[str, Any]] = []
    raw: list[bytes] = []

    @consumer(name="typed")
    async def take_model(invoice: InvoicePaid, incoming: Incoming) -> None:
        typed.append((invoice, incoming))

    @consumer("billing.#", name="as_dict")
    async def take_dict(body: dict[str, Any]) -> None:
        as_dict.append(body)

    @consumer("billing.invoice.*", name="raw")
    async def take_bytes(body: bytes) -> None:
        raw.append(body)

    bus = Bus(AMQP_URL, service=unique("interop-in"), exchange=unique("interop-in-ex"))
    consumers = [bus.add_consumer(h) for h in (take_model, take_dict, take_bytes)]
    # What another team's service sends: JSON with a field svckit's model does not know,
    # its own message id, no content type, no svckit headers.
    fields = {"invoice_id": 7, "amount_cents": 1250, "currency": "EUR", "paid_by": "card"}
    body = json.dumps(fields).encode()

    async def all_handled() -> bool:
        return len(typed) == len(as_dict) == len(raw) == 1

    try:
        async with bus:
            for c in consumers:
                await c.start()
            exchange = await plain.get_exchange(bus.exchange)
            await exchange.publish(
                aio_pika.Message(
                    body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, message_id="inv-7-paid"
                ),
                routing_key="billing.invoice.paid",
            )
            await wait_until(all_handled, timeout=10, what="all three handlers called")
            for c in consumers:
                await c.stop()
                await c.drain(5)
        ((invoice, incoming),) = typed
        assert invoice == InvoicePaid(invoice_id=7, amount_cents=1250, currency="EUR")
        assert incoming.topic == "billing.invoice.paid"
        assert incoming.message_id == "inv-7-paid"
        assert incoming.attempt == 1
        assert not incoming.redelivered
        assert as_dict == [fields]
        assert raw == [body]
        for c in consumers:
            assert await message_count(c.queue.dead_letter_queue) == 0
            assert await message_count(c.queue.name) == 0
    finally:
        queues = [q for c in consumers for q in (c.queue.name, c.queue.dead_letter_queue)]
        await delete_topology(bus.exchange, queues)


async def test_a_plain_message_svckit_cannot_validate_is_dead_lettered_intact(
    plain: aio_pika.abc.AbstractChannel,
) -> None:
    handled: list[InvoicePaid] = []

    @consumer(name="strict")
    async def take_model(invoice: InvoicePaid) -> None:
        handled.append(invoice)

    bus = Bus(AMQP_URL, service=unique("interop-bad"), exchange=unique("interop-bad-ex"))
    strict = bus.add_consumer(take_model)
    body = b'{"invoice_id": "seven", "currency": "EUR"}'
    dead: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def dead_lettered() -> bool:
        message = await dlq.get(fail=False, no_ack=True)
        if message is not None:
            dead.append(message)
        return bool(dead)

    try:
        async with bus:
            await strict.start()
            exchange = await plain.get_exchange(bus.exchange)
            await exchange.publish(
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=InvoicePaid.topic,
            )
            dlq = await plain.get_queue(strict.queue.dead_letter_queue)
            await wait_until(dead_lettered, timeout=10, what="the message in the dead-letter queue")
            await strict.stop()
            await strict.drain(5)
        (message,) = dead
        assert handled == []
        assert message.body == body
        assert message.headers[Headers.ERROR_TYPE] == "svckit.core.errors.DecodeError"
        assert "invoice_id" in str(message.headers[Headers.ERROR_MESSAGE])
        assert message.headers[Headers.ROUTING_KEY] == InvoicePaid.topic
        assert message.headers[Headers.QUEUE] == strict.name
    finally:
        await delete_topology(bus.exchange, [strict.queue.name, strict.queue.dead_letter_queue])


async def test_a_svckit_event_reads_as_plain_json_with_amqp_properties(
    plain: aio_pika.abc.AbstractChannel,
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    bus = Bus(
        AMQP_URL,
        service=unique("interop-out"),
        exchange=unique("interop-out-ex"),
        tracer_provider=provider,
    )
    event = InvoicePaid(invoice_id=42, amount_cents=999, currency="USD")
    received: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def got_it() -> bool:
        message = await reader.get(fail=False, no_ack=True)
        if message is not None:
            received.append(message)
        return bool(received)

    try:
        async with bus:
            reader = await plain.declare_queue(exclusive=True, auto_delete=True)
            await reader.bind(bus.exchange, routing_key="billing.#")
            before = datetime.now(UTC).replace(microsecond=0)
            message_id = await bus.publish(event, correlation_id="order-17")
            after = datetime.now(UTC)
            await wait_until(got_it, timeout=10, what="the event in a plain queue")
        (message,) = received
        assert json.loads(message.body) == {
            "invoice_id": 42,
            "amount_cents": 999,
            "currency": "USD",
        }
        assert message.message_id == message_id
        assert message.type == "billing.invoice.paid"
        assert message.routing_key == "billing.invoice.paid"
        assert message.content_type == "application/json"
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert message.correlation_id == "order-17"
        assert message.timestamp is not None
        assert before <= message.timestamp.replace(tzinfo=UTC) <= after + timedelta(seconds=1)
        assert message.headers[Headers.SCHEMA] == 3
        (publish,) = [s for s in exporter.get_finished_spans() if s.name.endswith("publish")]
        context = publish.get_span_context()
        assert context is not None
        assert message.headers["traceparent"] == (
            f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
        )
    finally:
        await delete_topology(bus.exchange, [])
