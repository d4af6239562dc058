"""Reading dead letters charges no delivery, keeps their order and never fails on one."""

from __future__ import annotations

import contextlib
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from svckit.messaging import Event, Headers, consumer
from svckit.messaging.dead_letters import DeadLetters
from tests.messaging._amqp_helpers import rabbitmqctl, rabbitmqctl_path
from tests.messaging.test_poison_contract import publish_foreign

if TYPE_CHECKING:
    from collections.abc import Callable

    from svckit.messaging import Bus
    from svckit.messaging._consume import Consumer


class Paid(Event, topic="reading.paid"):
    amount: int


@consumer()
async def paid(_message: Paid) -> None:
    pytest.fail("nothing is consumed here")


MALFORMED: list[dict[str, Any] | None] = [
    None,
    {Headers.ATTEMPT: "garbage", Headers.ERROR_TYPE: b"\xff\xfe", Headers.ERROR_MESSAGE: 12},
    {Headers.ATTEMPT: 2**40, "x-death": "odd"},
    {"x-death": [1, "x"], Headers.ROUTING_KEY: b"\xff"},
    {"x-death": [{"reason": b"\xff", "routing-keys": "not-a-list"}], Headers.REPLAYED: "x"},
    {
        "x-death": [{"reason": "delivery_limit", "routing-keys": ["orders.placed"]}],
        Headers.DEAD_LETTERED_AT: 5,
    },
]


async def fill(bus: Bus, c: Consumer) -> list[str]:
    """Dead letters in ``c``'s dead-letter queue: one svckit wrote, then foreign ones."""
    ids = []
    for n, headers in enumerate(MALFORMED):
        message_id = f"m-{n}"
        await publish_foreign(
            bus,
            c,
            b'{"amount": %d}' % n,
            headers,
            queue=c.queue.dead_letter_queue,
            message_id=message_id,
        )
        ids.append(message_id)
    return ids


async def test_foreign_dead_letters_are_listed_and_shown(make_bus: Callable[..., Bus]) -> None:
    bus = make_bus()
    c = bus.add_consumer(paid)
    async with bus:
        ids = await fill(bus, c)
        letters = DeadLetters(bus.transport, c.name)
        found = await letters.list()
        assert [letter.message_id for letter in found] == ids
        by_id = {letter.message_id: letter for letter in found}
        assert by_id["m-0"].attempt == 1
        assert by_id["m-0"].error_type == "unknown"
        assert by_id["m-1"].attempt == 1  # "garbage"
        assert by_id["m-1"].error_type == "\\xff\\xfe"
        assert by_id["m-1"].error_message == "12"
        assert by_id["m-2"].attempt == 1  # out of range
        assert by_id["m-4"].error_type == "\\xff"
        assert by_id["m-5"].error_type == "delivery_limit"
        assert by_id["m-5"].topic == "orders.placed"
        shown = await letters.show("m-3")
        assert shown is not None
        assert shown.topic == c.queue.dead_letter_queue
        # Going round twice left every dead letter in place, in order.
        assert [letter.message_id for letter in await letters.list()] == ids
        assert await letters.replay(["m-4"]) == 1
        assert [letter.message_id for letter in await letters.list()] == ids[:4] + ids[5:]
        replayed = await bus.transport.get(c.name)
        assert replayed is not None
        assert replayed.headers[Headers.REPLAYED] == 1  # "x" was no count
        await replayed.ack()


@pytest.mark.rabbitmq
async def test_reading_charges_no_delivery_under_a_delivery_limit(
    make_bus: Callable[..., Bus],
) -> None:
    if make_bus.kind != "amqp":  # type: ignore[attr-defined]
        pytest.skip("a delivery-limit policy is RabbitMQ's")
    rabbitmqctl_path()
    service = f"dlqlim-{uuid.uuid4().hex[:10]}"
    policy = f"svckit-test-{service}"
    await rabbitmqctl(
        "set_policy",
        "--apply-to",
        "queues",  # RabbitMQ 3.10 has no quorum_queues target yet
        policy,
        f"^{service}\\.",
        '{"delivery-limit": 2}',
    )
    try:
        bus = make_bus(service=service)
        c = bus.add_consumer(paid)
        async with bus:
            ids = await fill(bus, c)
            letters = DeadLetters(bus.transport, c.name)
            # Each give-back would count a delivery; past 2 the broker drops the letter.
            for _ in range(4):
                assert [letter.message_id for letter in await letters.list()] == ids
            for message_id in ids:
                assert await letters.show(message_id) is not None
            assert await letters.count() == len(ids)
    finally:
        with contextlib.suppress(Exception):
            await rabbitmqctl("clear_policy", policy)
