"""Hostile deliveries, on both transports: each costs one dead letter that svckit wrote.

On RabbitMQ a foreign client publishes what pamqp's own encoder would refuse to write
back (a long string that is not UTF-8, a double out of the 32-bit float range): the test
publisher encodes those itself, the way other clients do.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import struct
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiormq
import pytest
import structlog
from pamqp import commands as spec
from pamqp import encode
from pydantic import BaseModel, ValidationError, field_validator

from svckit import DecodeError, PublishError, RetryPolicy
from svckit.messaging import Event, Headers, Incoming, Reject, consumer
from svckit.messaging._content import MAX_BODY
from svckit.messaging.transport import Outgoing
from tests.messaging.conftest import AMQP_URL, Recorder, eventually, is_memory

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from svckit.messaging import Bus
    from svckit.messaging._consume import Consumer

FAST = RetryPolicy(attempts=2, initial_delay=0.02, max_delay=0.05, jitter=0)
ONCE = RetryPolicy(attempts=1)
SECRET = "4111-1111-SECRET"  # noqa: S105 - a value that must not leak


class Paid(Event, topic="hostile.paid"):
    amount: int


@contextlib.contextmanager
def _foreign_encoder() -> Iterator[None]:
    """Encode header values as other clients may: raw long strings and doubles."""
    original = encode.encode_table_value

    def encode_value(value: Any) -> bytes:
        if isinstance(value, bytes):
            return b"S" + struct.pack(">I", len(value)) + value
        if isinstance(value, float):
            return b"d" + struct.pack(">d", value)
        return original(value)

    encode.encode_table_value = encode_value
    try:
        yield
    finally:
        encode.encode_table_value = original


async def publish_foreign(
    bus: Bus,
    c: Consumer,
    body: bytes,
    headers: dict[str, Any] | None = None,
    *,
    queue: str | None = None,
    **properties: Any,
) -> None:
    """Publish to ``c``'s queue as a foreign client would; the consumer is not started."""
    await bus.transport.declare_queue(c.queue)
    target = queue or c.name
    if is_memory(bus):
        outgoing = Outgoing(
            body=body,
            routing_key=target,
            message_id=properties.pop("message_id", None),
            timestamp=properties.pop("timestamp", None),
            headers=headers or {},
            content_type=properties.pop("content_type", None),
            type=properties.pop("message_type", None),
            **properties,
        )
        await bus.transport.publish("", outgoing, mandatory=True)
        return
    connection = await aiormq.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        with _foreign_encoder():
            confirm = await channel.basic_publish(
                body,
                exchange="",
                routing_key=target,
                properties=spec.Basic.Properties(headers=headers, **properties),
            )
        assert isinstance(confirm, spec.Basic.Ack)
    finally:
        await connection.close()


async def the_dead_letter(bus: Bus, c: Consumer) -> Any:
    dlq = c.queue.dead_letter_queue

    async def one() -> bool:
        return await bus.transport.message_count(dlq) >= 1

    await eventually(one, message="a dead letter")
    delivery = await bus.transport.get(dlq)
    assert delivery is not None
    await delivery.ack()
    assert await bus.transport.message_count(dlq) == 0
    assert await bus.transport.message_count(c.name) == 0
    return delivery


def written_by_svckit(letter: Any, error_type: str) -> None:
    assert letter.headers[Headers.ERROR_TYPE] == error_type
    assert letter.headers[Headers.QUEUE]
    assert letter.headers[Headers.DEAD_LETTERED_AT]
    # At its first delivery: svckit counted one attempt, the broker none of its own.
    assert letter.headers[Headers.ATTEMPT] == 1
    assert "x-death" not in letter.headers


POISON = f"{DecodeError.__module__}.DecodeError"


@pytest.mark.parametrize(
    "attempt",
    ["99999999999999999999", float("inf"), 2**63 - 1, b"\xff"],
    ids=["20-digits", "infinity", "int64", "bytes"],
)
@pytest.mark.parametrize("path", ["poison", "failure"])
async def test_hostile_headers_are_dead_lettered_at_the_first_delivery(
    make_bus: Callable[..., Bus], attempt: Any, path: str
) -> None:
    if attempt == float("inf") and make_bus.kind == "amqp":  # type: ignore[attr-defined]
        pytest.skip("RabbitMQ closes the connection of a client that sends infinity")

    @consumer(retry=ONCE)
    async def paid(_message: Paid) -> None:
        raise RuntimeError("the handler failed")

    bus = make_bus()
    c = bus.add_consumer(paid)
    headers = {
        Headers.ATTEMPT: attempt,
        "x-not-utf8": b"\xff\xfe\x80",
        "x-huge-double": 1e308,
        "x-nested": {"inner": [1e308, "kept"]},
        Headers.REQUEST_ID: "r" * 60_000,
        Headers.ROUTING_KEY: b"\xff",
        "x-fine": "kept",
    }
    body = b"not json" if path == "poison" else b'{"amount": 1}'
    async with bus:
        await publish_foreign(bus, c, body, headers)
        await c.start()
        letter = await the_dead_letter(bus, c)
        await c.stop()
    written_by_svckit(letter, POISON if path == "poison" else "RuntimeError")
    assert letter.headers["x-fine"] == "kept"
    assert letter.headers["x-not-utf8"] == bytearray(b"\xff\xfe\x80")
    assert "x-huge-double" not in letter.headers
    assert letter.headers["x-nested"] == {"inner": ["kept"]}
    dropped = set(letter.headers[Headers.DROPPED_HEADERS].split(","))
    assert {"x-huge-double", "x-nested"} <= dropped
    if attempt != 2**63 - 1:
        assert Headers.ATTEMPT in dropped
    assert letter.headers[Headers.ROUTING_KEY] == c.name  # the header held no topic
    assert letter.body == body


async def test_a_hostile_message_is_retried_through_its_delay_queue(
    make_bus: Callable[..., Bus], recorder: Recorder
) -> None:
    @consumer(retry=FAST)
    async def paid(_message: Paid, incoming: Incoming) -> None:
        await recorder.add(incoming.attempt)
        if incoming.attempt == 1:
            raise RuntimeError("once")

    bus = make_bus()
    c = bus.add_consumer(paid)
    headers = {Headers.ATTEMPT: "99999999999999999999", "x-huge-double": 1e308}
    async with bus:
        await publish_foreign(bus, c, b'{"amount": 1}', headers)
        await c.start()
        assert await recorder.wait_for(2) == [1, 2]
        await c.stop()
        assert await bus.transport.message_count(c.queue.dead_letter_queue) == 0


async def test_a_header_larger_than_the_budget_is_cut_and_noted(
    make_bus: Callable[..., Bus],
) -> None:
    @consumer(retry=ONCE)
    async def paid(_message: Paid) -> None:
        raise RuntimeError("boom " * 1000)

    bus = make_bus()
    c = bus.add_consumer(paid)
    # With svckit's error headers added, a verbatim copy would not fit RabbitMQ's frame.
    headers = {"x-big": "b" * 120_000, "x-small": "kept"}
    async with bus:
        await publish_foreign(bus, c, b'{"amount": 1}', headers)
        await c.start()
        letter = await the_dead_letter(bus, c)
        await c.stop()
    written_by_svckit(letter, "RuntimeError")
    assert "x-big" not in letter.headers
    assert letter.headers["x-small"] == "kept"
    assert letter.headers[Headers.DROPPED_HEADERS] == "x-big"
    assert letter.headers[Headers.ERROR_MESSAGE].startswith("boom boom")


async def test_a_dead_letter_keeps_the_properties_as_sent(make_bus: Callable[..., Bus]) -> None:
    @consumer(retry=ONCE)
    async def paid(_message: Paid) -> None:
        raise Reject("no")

    bus = make_bus()
    c = bus.add_consumer(paid)
    sent = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
    body = gzip.compress(b'{"amount": 3}')
    async with bus:
        await publish_foreign(
            bus,
            c,
            body,
            {"x-fine": "kept"},
            message_id="m-1",
            timestamp=sent,
            content_type="application/json",
            content_encoding="gzip",
            priority=5,
            expiration="600000",
            reply_to="replies",
            app_id="foreign-app",
            user_id="guest",
            correlation_id="corr",
            message_type="paid",
        )
        await c.start()
        letter = await the_dead_letter(bus, c)
        await c.stop()
    assert letter.body == body  # as it arrived, still compressed
    assert (letter.message_id, letter.timestamp, letter.correlation_id) == ("m-1", sent, "corr")
    assert (letter.content_type, letter.content_encoding) == ("application/json", "gzip")
    assert (letter.priority, letter.reply_to, letter.app_id) == (5, "replies", "foreign-app")
    # As RabbitMQ's own dead-lettering: no expiration in the dead-letter queue, and no user
    # id the broker would refuse from svckit's user; both kept in headers.
    assert letter.expiration is None
    assert letter.user_id is None
    assert letter.headers[Headers.ORIGINAL_EXPIRATION] == "600000"
    assert letter.headers[Headers.ORIGINAL_USER_ID] == "guest"
    assert letter.headers[Headers.ERROR_TYPE] == f"{Reject.__module__}.Reject"


async def test_a_message_without_id_or_timestamp_stays_without(
    make_bus: Callable[..., Bus],
) -> None:
    @consumer(retry=ONCE)
    async def paid(_message: Paid) -> None:
        raise Reject("no")

    bus = make_bus()
    c = bus.add_consumer(paid)
    async with bus:
        await publish_foreign(bus, c, b'{"amount": 3}')
        await c.start()
        letter = await the_dead_letter(bus, c)
        await c.stop()
    assert letter.timestamp is None
    if is_memory(bus):
        # On RabbitMQ aiormq gives every message it publishes without an id a random one
        # (the foreign publisher's too), so only the embedded broker can show this.
        assert letter.message_id is None


async def test_compressed_bodies_reach_every_kind_of_handler(
    make_bus: Callable[..., Bus], recorder: Recorder
) -> None:
    @consumer("hostile.#")
    async def typed(message: Paid, incoming: Incoming) -> None:
        await recorder.add(("typed", message.amount, incoming.body))

    @consumer("hostile.#")
    async def raw(message: bytes) -> None:
        await recorder.add(("raw", message))

    bus = make_bus()
    consumers = [bus.add_consumer(typed), bus.add_consumer(raw)]
    async with bus:
        for c in consumers:
            await publish_foreign(bus, c, gzip.compress(b'{"amount": 7}'), content_encoding="gzip")
            await c.start()
        items = await recorder.wait_for(2)
    assert sorted(items) == [("raw", b'{"amount": 7}'), ("typed", 7, b'{"amount": 7}')]


@pytest.mark.parametrize(
    ("body", "properties", "error"),
    [
        (gzip.compress(b"\0" * (MAX_BODY + 1)), {"content_encoding": "gzip"}, "larger than"),
        (b"{}", {"content_encoding": "br"}, "unsupported content encoding 'br'"),
        (b'{"amount": 1}', {"content_type": "text/xml"}, "content type 'text/xml' is not JSON"),
        (b"[" * 200_000, {}, "body is not"),
    ],
    ids=["zip-bomb", "unsupported-encoding", "not-json-type", "nested-too-deep"],
)
async def test_unreadable_bodies_are_poison(
    make_bus: Callable[..., Bus], body: bytes, properties: dict[str, Any], error: str
) -> None:
    @consumer("hostile.paid")
    async def paid(_message: dict[str, Any]) -> None:
        pytest.fail("a handler was given poison")

    bus = make_bus()
    c = bus.add_consumer(paid)
    async with bus:
        await publish_foreign(bus, c, body, queue=None, **properties)
        await c.start()
        letter = await the_dead_letter(bus, c)
        await c.stop()
    written_by_svckit(letter, POISON)
    assert error in letter.headers[Headers.ERROR_MESSAGE]


class Card(BaseModel):
    number: str

    @field_validator("number")
    @classmethod
    def _digits(cls, value: str) -> str:
        if not value.isdigit():
            raise ValueError(f"{value} is not a card number")
        return value


class Charge(Event, topic="hostile.charge"):
    number: str

    @field_validator("number")
    @classmethod
    def _digits(cls, value: str) -> str:
        if not value.isdigit():
            raise ValueError(f"{value} is not a card number")
        return value


@pytest.mark.parametrize("where", ["decoding", "handler"])
async def test_error_headers_carry_no_payload_value(
    make_bus: Callable[..., Bus], where: str
) -> None:
    @consumer("hostile.charge", retry=ONCE)
    async def charge(message: dict[str, Any]) -> None:
        try:
            Card.model_validate(message)
        except ValidationError as exc:
            raise RuntimeError("could not charge") from exc

    @consumer(retry=ONCE)
    async def typed(_message: Charge) -> None:
        pytest.fail("a handler was given poison")

    bus = make_bus()
    c = bus.add_consumer(charge if where == "handler" else typed)
    async with bus:
        await publish_foreign(bus, c, json.dumps({"number": SECRET}).encode())
        await c.start()
        letter = await the_dead_letter(bus, c)
        await c.stop()
    own = {k: v for k, v in letter.headers.items() if k.startswith("x-svckit-")}
    assert SECRET not in repr(own)
    assert "number: value_error" in letter.headers[Headers.ERROR_TRACEBACK]


async def test_a_copy_the_broker_refuses_still_reaches_the_dead_letters(
    make_bus: Callable[..., Bus], monkeypatch: pytest.MonkeyPatch
) -> None:
    @consumer(retry=ONCE)
    async def paid(_message: Paid) -> None:
        raise RuntimeError("the handler failed")

    bus = make_bus()
    c = bus.add_consumer(paid)
    publish = bus.transport.publish
    refused: list[Outgoing] = []

    async def refusing(exchange: str, message: Outgoing, *, mandatory: bool) -> None:
        # What a broker may refuse for the message's own content, whatever svckit checks.
        if "x-refused" in message.headers:
            refused.append(message)
            raise PublishError("the broker refused the message")
        await publish(exchange, message, mandatory=mandatory)

    async with bus:
        await publish_foreign(bus, c, b'{"amount": 1}', {"x-refused": "yes"}, app_id="app")
        monkeypatch.setattr(bus.transport, "publish", refusing)
        await c.start()
        letter = await the_dead_letter(bus, c)
        await c.stop()
    # Once refused, then sent without what came from the wire: no loop of give-backs.
    assert len(refused) == 1
    written_by_svckit(letter, "RuntimeError")
    assert letter.headers[Headers.DROPPED_HEADERS] == "*"
    assert "x-refused" not in letter.headers
    assert letter.app_id is None
    assert letter.body == b'{"amount": 1}'


async def test_the_log_carries_no_payload_value(make_bus: Callable[..., Bus]) -> None:
    if not is_memory(make_bus()):
        pytest.skip("the log is the consumer's, whatever the transport")

    @consumer("hostile.charge", retry=ONCE)
    async def charge(message: dict[str, Any]) -> None:
        try:
            Card.model_validate(message)
        except ValidationError as exc:
            raise RuntimeError("could not charge") from exc

    bus = make_bus()
    c = bus.add_consumer(charge)
    with structlog.testing.capture_logs() as logs:
        async with bus:
            await publish_foreign(bus, c, json.dumps({"number": SECRET}).encode())
            await c.start()
            await the_dead_letter(bus, c)
            await c.stop()
    [failed] = [entry for entry in logs if entry["event"] == "handler failed, dead-lettering"]
    # The traceback would carry pydantic's text, which quotes the input: not logged.
    assert "exc_info" not in failed
    assert failed["error"] == "could not charge"
    assert "number: value_error" in failed["traceback"]
    assert SECRET not in repr(logs)
