"""The messaging contract: every transport keeps these promises (memory and RabbitMQ)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from svckit import DecodeError, RetryPolicy, UnroutableError
from svckit.messaging import Command, Event, Headers, Incoming, Reject, RetryLater, consumer
from svckit.messaging.transport import Outgoing
from tests.messaging.conftest import Recorder, eventually

if TYPE_CHECKING:
    from collections.abc import Callable

    from svckit.messaging import Bus

FAST = RetryPolicy(attempts=3, initial_delay=0.02, max_delay=0.1, jitter=0)


class OrderPlaced(Event, topic="orders.placed"):
    order_id: int


class OrderShipped(Event, topic="orders.eu.shipped"):
    order_id: int


class ChargeCard(Command, topic="payments.charge"):
    amount: int


async def dead_letters(bus: Bus, queue: str) -> list[Any]:
    """Take every message in ``queue``'s dead-letter queue (settling them)."""
    taken = []
    while (delivery := await bus.transport.get(f"{queue}.dlq")) is not None:
        taken.append(delivery)
        await delivery.ack()
    return taken


async def dlq_count(bus: Bus, queue: str) -> int:
    return await bus.transport.message_count(f"{queue}.dlq")


async def test_topic_patterns_route_only_matching_messages(
    make_bus: Callable[..., Bus], recorder: Recorder
) -> None:
    @consumer("orders.*", name="one_word")
    async def one_word(_: dict[str, Any], incoming: Incoming) -> None:
        await recorder.add(("one_word", incoming.topic))

    @consumer("orders.#", name="any_words")
    async def any_words(_: dict[str, Any], incoming: Incoming) -> None:
        await recorder.add(("any_words", incoming.topic))

    bus = make_bus()
    consumers = [bus.add_consumer(one_word), bus.add_consumer(any_words)]
    async with bus:
        for c in consumers:
            await c.start()
        await bus.publish(OrderPlaced(order_id=1))
        await bus.publish(OrderShipped(order_id=2))
        seen = await recorder.wait_for(3)
        for c in consumers:
            await c.stop()
    assert sorted(seen) == [
        ("any_words", "orders.eu.shipped"),
        ("any_words", "orders.placed"),
        ("one_word", "orders.placed"),
    ]


async def test_typed_handler_gets_the_model_and_metadata(
    make_bus: Callable[..., Bus], recorder: Recorder
) -> None:
    @consumer()
    async def placed(message: OrderPlaced, incoming: Incoming) -> None:
        await recorder.add((message, incoming))

    bus = make_bus()
    c = bus.add_consumer(placed)
    async with bus:
        await c.start()
        message_id = await bus.publish(OrderPlaced(order_id=7), correlation_id="corr-1")
        [(message, incoming)] = await recorder.wait_for(1)
        await c.stop()
    assert message == OrderPlaced(order_id=7)
    assert incoming.message_id == message_id
    assert incoming.correlation_id == "corr-1"
    assert incoming.attempt == 1
    assert incoming.topic == "orders.placed"
    assert incoming.headers[Headers.SCHEMA] == 1
    assert json.loads(incoming.body) == {"order_id": 7}


async def test_a_failing_handler_is_retried_then_succeeds(
    make_bus: Callable[..., Bus], recorder: Recorder
) -> None:
    @consumer(retry=FAST)
    async def flaky(_: OrderPlaced, incoming: Incoming) -> None:
        await recorder.add(incoming.attempt)
        if incoming.attempt < 3:
            raise ConnectionError("payment gateway timed out")

    bus = make_bus()
    c = bus.add_consumer(flaky)
    async with bus:
        await c.start()
        await bus.publish(OrderPlaced(order_id=1))
        assert await recorder.wait_for(3) == [1, 2, 3]
        await c.stop()
        await c.drain(5)
        assert await dlq_count(bus, c.name) == 0


async def test_exhausted_retries_dead_letter_the_message_with_the_error(
    make_bus: Callable[..., Bus], recorder: Recorder
) -> None:
    @consumer(retry=FAST)
    async def broken(message: OrderPlaced) -> None:
        await recorder.add(message.order_id)
        raise ValueError("order 5 has no lines")

    bus = make_bus()
    c = bus.add_consumer(broken)
    async with bus:
        await c.start()
        message_id = await bus.publish(OrderPlaced(order_id=5))
        await recorder.wait_for(3)
        await eventually(lambda: dlq_count(bus, c.name), message="a dead letter")
        [letter] = await dead_letters(bus, c.name)
        await c.stop()
    assert recorder.items == [5, 5, 5]
    assert letter.message_id == message_id
    assert json.loads(letter.body) == {"order_id": 5}
    assert letter.headers[Headers.ATTEMPT] == 3
    assert letter.headers[Headers.ERROR_TYPE] == "ValueError"
    assert letter.headers[Headers.ERROR_MESSAGE] == "order 5 has no lines"
    assert "ValueError: order 5 has no lines" in letter.headers[Headers.ERROR_TRACEBACK]
    assert letter.headers[Headers.QUEUE] == c.name
    assert letter.headers[Headers.ROUTING_KEY] == "orders.placed"


@pytest.mark.parametrize(
    "body",
    [b"not json at all", b'{"order_id": "seven"}', b"[1, 2]"],
    ids=["not-json", "invalid-field", "wrong-shape"],
)
async def test_poison_goes_to_dead_letters_at_once(
    make_bus: Callable[..., Bus], recorder: Recorder, body: bytes
) -> None:
    @consumer(retry=FAST)
    async def placed(message: OrderPlaced) -> None:
        await recorder.add(message)

    bus = make_bus()
    c = bus.add_consumer(placed)
    async with bus:
        await c.start()
        await _publish_raw(bus, "orders.placed", body)
        await eventually(lambda: dlq_count(bus, c.name), message="the poison message")
        [letter] = await dead_letters(bus, c.name)
        await c.stop()
    assert recorder.items == []
    assert letter.body == body
    assert letter.headers[Headers.ATTEMPT] == 1
    assert letter.headers[Headers.ERROR_TYPE] == f"{DecodeError.__module__}.DecodeError"


async def test_reject_dead_letters_at_once_and_retry_later_retries(
    make_bus: Callable[..., Bus], recorder: Recorder
) -> None:
    @consumer("orders.#", retry=FAST)
    async def judge(message: dict[str, Any], incoming: Incoming) -> None:
        await recorder.add((message["order_id"], incoming.attempt))
        if message["order_id"] == 1:
            raise Reject("order 1 is fraudulent")
        if incoming.attempt == 1:
            raise RetryLater(after=0.05)

    bus = make_bus()
    c = bus.add_consumer(judge)
    async with bus:
        await c.start()
        await bus.publish(OrderPlaced(order_id=1))
        await bus.publish(OrderPlaced(order_id=2))
        await recorder.wait_for(3)
        await eventually(lambda: dlq_count(bus, c.name), message="the rejected message")
        [letter] = await dead_letters(bus, c.name)
        await c.stop()
    assert sorted(recorder.items) == [(1, 1), (2, 1), (2, 2)]
    assert json.loads(letter.body) == {"order_id": 1}
    assert letter.headers[Headers.ERROR_MESSAGE] == "order 1 is fraudulent"


async def test_idempotent_consumer_skips_a_message_id_already_processed(
    make_bus: Callable[..., Bus], recorder: Recorder
) -> None:
    @consumer(idempotent=True)
    async def placed(message: OrderPlaced) -> None:
        await recorder.add(message.order_id)

    bus = make_bus()
    c = bus.add_consumer(placed)
    async with bus:
        await c.start()
        await bus.publish(OrderPlaced(order_id=1), message_id="same-id")
        await recorder.wait_for(1)
        await bus.publish(OrderPlaced(order_id=1), message_id="same-id")
        await bus.publish(OrderPlaced(order_id=2), message_id="other-id")
        await recorder.wait_for(2)
        # The duplicate was published before order 2; one more message would show up now.
        await bus.publish(OrderPlaced(order_id=3), message_id="third-id")
        await recorder.wait_for(3)
        await c.stop()
    assert recorder.items == [1, 2, 3]


async def test_a_command_nobody_receives_is_an_error_but_an_event_is_not(
    make_bus: Callable[..., Bus],
) -> None:
    bus = make_bus()
    async with bus:
        with pytest.raises(UnroutableError, match=r"payments\.charge"):
            await bus.publish(ChargeCard(amount=10))
        await bus.publish(OrderPlaced(order_id=1))


async def test_raw_handlers_take_bytes_and_dicts(
    make_bus: Callable[..., Bus], recorder: Recorder
) -> None:
    @consumer("raw.#", name="as_bytes")
    async def as_bytes(body: bytes) -> None:
        await recorder.add(("bytes", body))

    @consumer("raw.#", name="as_dict")
    async def as_dict(body: dict[str, Any]) -> None:
        await recorder.add(("dict", body))

    bus = make_bus()
    consumers = [bus.add_consumer(as_bytes), bus.add_consumer(as_dict)]
    async with bus:
        for c in consumers:
            await c.start()
        await _publish_raw(bus, "raw.thing", b'{"a": 1}')
        await recorder.wait_for(2)
        for c in consumers:
            await c.stop()
    assert sorted(recorder.items) == [("bytes", b'{"a": 1}'), ("dict", {"a": 1})]


async def test_prefetch_bounds_the_handlers_running_at_once(
    make_bus: Callable[..., Bus], recorder: Recorder
) -> None:
    release = asyncio.Event()
    running = 0
    peak = 0

    @consumer(prefetch=3)
    async def slow(message: OrderPlaced) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await recorder.add(message.order_id)
        await release.wait()
        running -= 1

    bus = make_bus()
    c = bus.add_consumer(slow)
    async with bus:
        await c.start()
        for i in range(10):
            await bus.publish(OrderPlaced(order_id=i))
        await recorder.wait_for(3)
        assert await bus.transport.message_count(c.name) == 7
        release.set()
        await recorder.wait_for(10)
        await c.stop()
        await c.drain(5)
    assert peak == 3


async def test_shutdown_drains_in_flight_work_and_gives_back_the_rest(
    make_bus: Callable[..., Bus], recorder: Recorder
) -> None:
    finish_quickly = asyncio.Event()

    @consumer("orders.#", prefetch=2, retry=FAST)
    async def work(message: dict[str, Any], incoming: Incoming) -> None:
        await recorder.add((message["order_id"], incoming.redelivered))
        if message["order_id"] == 1:
            await finish_quickly.wait()
        else:
            await asyncio.Event().wait()  # never finishes: shutdown must cut it off

    bus = make_bus()
    c = bus.add_consumer(work)
    async with bus:
        await c.start()
        await bus.publish(OrderPlaced(order_id=1))
        await bus.publish(OrderPlaced(order_id=2))
        await recorder.wait_for(2)
        await c.stop()
        asyncio.get_running_loop().call_soon(finish_quickly.set)
        report = await c.drain(timeout=0.5)
        assert (report.drained, report.cut_off) == (1, 1)
        # Order 1 was acknowledged; order 2 went back to the queue, unharmed.
        await eventually(
            lambda: _ready(bus, c.name, 1), message="the cut-off message back in its queue"
        )
        again = await bus.transport.get(c.name)
        assert again is not None
        assert json.loads(again.body) == {"order_id": 2}
        assert again.redelivered
        await again.ack()
        assert await dlq_count(bus, c.name) == 0


async def _ready(bus: Bus, queue: str, count: int) -> bool:
    return await bus.transport.message_count(queue) == count


async def _publish_raw(bus: Bus, topic: str, body: bytes, *, message_id: str | None = None) -> None:
    from datetime import UTC, datetime  # noqa: PLC0415

    await bus.transport.publish(
        bus.exchange,
        Outgoing(
            body=body,
            routing_key=topic,
            message_id=uuid.uuid4().hex if message_id is None else message_id,
            timestamp=datetime.now(UTC),
        ),
        mandatory=True,
    )


async def test_dead_letters_can_be_listed_replayed_and_purged(
    make_bus: Callable[..., Bus], recorder: Recorder
) -> None:
    from svckit.messaging.dead_letters import DeadLetters  # noqa: PLC0415

    fixed = False

    @consumer(retry=RetryPolicy(attempts=1))
    async def placed(message: OrderPlaced, incoming: Incoming) -> None:
        await recorder.add((message.order_id, incoming.attempt, incoming.topic))
        if not fixed:
            raise RuntimeError(f"order {message.order_id} failed")

    bus = make_bus()
    c = bus.add_consumer(placed)
    async with bus:
        await c.start()
        ids = [await bus.publish(OrderPlaced(order_id=i)) for i in range(3)]
        await recorder.wait_for(3)
        letters = DeadLetters(bus.transport, c.name)
        await eventually(lambda: _count_is(letters, 3), message="three dead letters")

        listed = await letters.list()
        assert [letter.message_id for letter in listed] == ids
        assert [letter.error_message for letter in listed] == [
            f"order {i} failed" for i in range(3)
        ]
        assert all(letter.topic == "orders.placed" for letter in listed)
        # Listing leaves the dead letters in place (RabbitMQ takes them back asynchronously).
        await eventually(lambda: _count_is(letters, 3), message="the listed letters back")
        shown = await letters.show(ids[1])
        assert shown is not None
        assert shown.error_type == "RuntimeError"
        await eventually(lambda: _count_is(letters, 3), message="the shown letters back")

        fixed = True
        assert await letters.replay({ids[0]}) == 1
        await recorder.wait_for(4)
        assert recorder.items[3] == (0, 1, "orders.placed"), "attempts restart at 1"
        assert [letter.message_id for letter in await letters.list()] == ids[1:]

        await eventually(lambda: _count_is(letters, 2), message="the listed letters back")
        assert await letters.purge() == 2
        assert await letters.count() == 0
        await c.stop()


async def _count_is(letters: Any, count: int) -> bool:
    return bool(await letters.count() == count)
