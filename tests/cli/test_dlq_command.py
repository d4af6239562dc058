"""``svckit dlq`` against RabbitMQ: what an operator types, and what comes back."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from svckit import RetryPolicy
from svckit.cli import main
from svckit.messaging import Bus, Event, consumer
from svckit.messaging.amqp import AmqpTransport
from tests.messaging.conftest import AMQP_URL, _delete_amqp_topology, eventually

if TYPE_CHECKING:
    from collections.abc import Iterator


class Invoice(Event, topic="billing.invoice"):
    number: int


async def _make_dead_letters(service: str, exchange: str, count: int) -> tuple[Bus, list[str]]:
    processed = asyncio.Event()
    seen = 0

    @consumer(retry=RetryPolicy(attempts=1))
    async def bill(invoice: Invoice) -> None:
        nonlocal seen
        seen += 1
        if seen == count:
            processed.set()
        raise ValueError(f"invoice {invoice.number} has no customer")

    bus = Bus(AMQP_URL, service=service, exchange=exchange)
    c = bus.add_consumer(bill)
    async with bus:
        await c.start()
        ids = [await bus.publish(Invoice(number=n)) for n in range(count)]
        async with asyncio.timeout(10):
            await processed.wait()

        async def all_dead() -> bool:
            return await bus.transport.message_count(f"{c.name}.dlq") == count

        await eventually(all_dead, message="every invoice dead-lettered")
        await c.stop()
        await c.drain(5)
    return bus, ids


@pytest.fixture
def dead_letters() -> Iterator[tuple[str, list[str]]]:
    suffix = uuid.uuid4().hex[:8]
    service, exchange = f"cli-{suffix}", f"cli-ex-{suffix}"
    bus, ids = asyncio.run(_make_dead_letters(service, exchange, 3))
    assert isinstance(bus.transport, AmqpTransport)
    yield f"{service}.bill", ids
    asyncio.run(_delete_amqp_topology([bus], exchange))


def _count(queue: str) -> int:
    async def count() -> int:
        transport = AmqpTransport(AMQP_URL)
        await transport.connect()
        try:
            return await transport.message_count(f"{queue}.dlq")
        finally:
            await transport.close()

    return asyncio.run(count())


@pytest.mark.rabbitmq
def test_list_show_replay_and_purge(
    dead_letters: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    queue, ids = dead_letters

    assert main(["dlq", "--url", AMQP_URL, "list", queue]) == 0
    table = capsys.readouterr().out
    for message_id in ids:
        assert message_id in table
    assert "ValueError: invoice 0 has no customer" in table

    # --url may also follow the action, as in the other commands.
    assert main(["dlq", "list", queue, "--json", "--url", AMQP_URL]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["message_id"] for row in rows] == ids
    assert {row["topic"] for row in rows} == {"billing.invoice"}

    assert main(["dlq", "--url", AMQP_URL, "show", queue, ids[2]]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["body"] == {"number": 2}
    assert "ValueError" in shown["traceback"]

    assert main(["dlq", "--url", AMQP_URL, "replay", queue, "--id", ids[0]]) == 0
    assert "replayed 1" in capsys.readouterr().out
    assert main(["dlq", "--url", AMQP_URL, "replay", queue, "--id", "no-such-id"]) == 1
    capsys.readouterr()

    assert main(["dlq", "--url", AMQP_URL, "purge", queue]) == 2
    assert "--yes" in capsys.readouterr().err
    assert main(["dlq", "--url", AMQP_URL, "purge", queue, "--yes"]) == 0
    assert "purged 2" in capsys.readouterr().out
    assert _count(queue) == 0


@pytest.mark.rabbitmq
def test_the_broker_url_can_come_from_a_services_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("THUMBS_BUS_URL", AMQP_URL)
    queue = f"cli-none-{uuid.uuid4().hex[:8]}"
    target = "tests.worker.sample_services:Thumbnails"
    assert main(["dlq", "show", queue, "some-id", "--service", target]) == 1
    # It reached RabbitMQ (with the URL from THUMBS_BUS_URL), which has no such queue.
    assert f"no queue '{queue}.dlq'" in capsys.readouterr().err
    assert main(["dlq", "list", queue, "--service", "no_such_module_xyz:Service"]) == 2
    assert "cannot import module" in capsys.readouterr().err


def test_the_embedded_broker_is_refused_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dlq", "--url", "memory://", "list", "some.queue"]) == 2
    assert "give --url a RabbitMQ URL" in capsys.readouterr().err
    monkeypatch.delenv("SVCKIT_BUS_URL", raising=False)
    assert main(["dlq", "list", "some.queue"]) == 2
    assert "set SVCKIT_BUS_URL (or --url)" in capsys.readouterr().err


def test_a_services_own_bus_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The service reads THUMBS_BUS_URL: the hint names it, not SVCKIT_BUS_URL.
    monkeypatch.delenv("THUMBS_BUS_URL", raising=False)
    target = "tests.worker.sample_services:Thumbnails"
    assert main(["dlq", "list", "some.queue", "--service", target]) == 2
    err = capsys.readouterr().err
    assert "set THUMBS_BUS_URL (or --url)" in err
    assert "SVCKIT_BUS_URL" not in err


@pytest.mark.rabbitmq
def test_show_of_an_unknown_id_fails(capsys: pytest.CaptureFixture[str]) -> None:
    queue = f"cli-missing-{uuid.uuid4().hex[:8]}"
    assert main(["dlq", "--url", AMQP_URL, "show", queue, "nope"]) == 1
    assert f"no queue '{queue}.dlq'" in capsys.readouterr().err


async def _foreign_dead_letter(queue: str) -> None:
    import aiormq  # noqa: PLC0415 - only for the RabbitMQ side
    from pamqp import commands as spec  # noqa: PLC0415

    from svckit.messaging.transport import QueueSpec  # noqa: PLC0415
    from tests.messaging.test_poison_contract import _foreign_encoder  # noqa: PLC0415

    transport = AmqpTransport(AMQP_URL)
    await transport.connect()
    try:
        await transport.declare_queue(QueueSpec(name=queue, exchange="amq.topic", patterns=()))
    finally:
        await transport.close()
    connection = await aiormq.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        headers: dict[str, Any] = {
            "x-svckit-attempt": "garbage",
            "x-svckit-error-type": b"\xff\x1b[31m",
            "x-svckit-error-message": "line one\x1b[2J\nline two",
            "x-death": "odd",
            "x-double": 1e300,
            "x-nested": {"a": [b"\xfe", 1.5]},
        }
        with _foreign_encoder():
            await channel.basic_publish(
                b"[" * 100_000,
                routing_key=f"{queue}.dlq",
                properties=spec.Basic.Properties(headers=headers, message_id="foreign-1"),
            )
    finally:
        await connection.close()


@pytest.mark.rabbitmq
def test_a_foreign_dead_letter_is_listed_and_shown(capsys: pytest.CaptureFixture[str]) -> None:
    queue = f"cli-foreign-{uuid.uuid4().hex[:8]}"
    asyncio.run(_foreign_dead_letter(queue))
    try:
        assert main(["dlq", "--url", AMQP_URL, "list", queue]) == 0
        table = capsys.readouterr().out
        assert "foreign-1" in table
        assert "\x1b" not in table  # escape codes from the wire are shown, not run
        assert main(["dlq", "--url", AMQP_URL, "list", queue, "--json"]) == 0
        [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert row["attempt"] == 1
        assert main(["dlq", "--url", AMQP_URL, "show", queue, "foreign-1"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["headers"]["x-nested"] == {"a": ["\\xfe", 1.5]}
        assert shown["body"].startswith("[[[")
        assert _count(queue) == 1
    finally:
        asyncio.run(_delete_queues(queue))


async def _delete_queues(queue: str) -> None:
    import aio_pika  # noqa: PLC0415

    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        for name in (queue, f"{queue}.dlq"):
            channel = await connection.channel()
            await channel.queue_delete(name)
