"""The transactional outbox: published if and only if the transaction commits."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace import TracerProvider

from svckit.cli import main
from svckit.core.health import HealthStatus
from svckit.core.logging import bind_context
from svckit.core.telemetry import get_tracer
from svckit.db import Database, Outbox
from svckit.db._outbox_table import DONE, FAILED, outbox_table
from svckit.messaging import Bus, Incoming, consumer
from svckit.testing import ServiceHarness
from tests.db._outbox_services import OrderPlaced, ShipOrder, Shop
from tests.messaging.conftest import eventually

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


class Listening(Shop):
    """A shop that also consumes its own events, to compare what arrives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[tuple[OrderPlaced, Incoming]] = []

    @consumer()
    async def on_placed(self, event: OrderPlaced, incoming: Incoming) -> None:
        self.received.append((event, incoming))


def harness(url: str, service: type[Shop] = Shop, **overrides: Any) -> ServiceHarness[Any]:
    return ServiceHarness(service, database_url=url, database_create_schema=True, **overrides)


async def rows(service: Shop, *, status: str | None = None) -> list[Any]:
    statement = sa.select(outbox_table).order_by(outbox_table.c.id)
    if status is not None:
        statement = statement.where(outbox_table.c.status == status)
    async with service.db.transaction() as session:
        return list((await session.execute(statement)).all())


async def test_rollback_publishes_nothing_commit_publishes_the_row(database_url: str) -> None:
    async with harness(database_url) as h:
        with pytest.raises(RuntimeError):
            await h.service.place(1, fail=True)
        message_id = await h.service.place(2)
        await eventually(lambda: h.published(OrderPlaced), message="the event")
        await eventually(lambda: _empty(h.service), message="the row deleted")

        assert h.published(OrderPlaced) == [OrderPlaced(order_id=2)]
        assert [m.message_id for m in h.messages] == [message_id]


async def _empty(service: Shop) -> bool:
    return await rows(service) == []


async def test_the_message_carries_what_a_direct_publish_would(database_url: str) -> None:
    tracer = get_tracer("outbox-test", tracer_provider=TracerProvider())
    async with harness(database_url, Listening) as h:
        service = h.service
        options = {"correlation_id": "conv-1", "headers": {"x-tenant": "acme"}}
        with bind_context(request_id="req-42"), tracer.start_as_current_span("caller"):
            await service.bus.publish(OrderPlaced(order_id=1), message_id="direct", **options)
            async with service.db.transaction():
                await service.outbox.publish(
                    OrderPlaced(order_id=1), message_id="outboxed", **options
                )
        await eventually(lambda: len(service.received) == 2, message="both messages")

    by_id = {incoming.message_id: (event, incoming) for event, incoming in service.received}
    direct_event, direct = by_id["direct"]
    outboxed_event, outboxed = by_id["outboxed"]
    assert outboxed_event == direct_event
    assert outboxed.headers == direct.headers
    assert outboxed.headers["x-request-id"] == "req-42"
    assert "traceparent" in outboxed.headers
    assert outboxed.headers["x-tenant"] == "acme"
    assert (outboxed.topic, outboxed.correlation_id, outboxed.body) == (
        direct.topic,
        direct.correlation_id,
        direct.body,
    )
    assert outboxed.timestamp is not None


async def test_an_unroutable_command_moves_aside_and_its_key_goes_on(database_url: str) -> None:
    async with harness(database_url) as h:
        outbox = h.service.outbox
        async with h.service.db.transaction():
            await outbox.publish(ShipOrder(order_id=9), key="order:9")
            await outbox.publish(OrderPlaced(order_id=9), key="order:9")
        await eventually(lambda: h.published(OrderPlaced), message="the event behind it")
        await eventually(lambda: rows(h.service, status=FAILED), message="the failed row")

        [failed] = await rows(h.service, status=FAILED)
        assert failed.routing_key == ShipOrder.topic
        assert failed.attempts == 2  # Shop.outbox_retry
        assert failed.last_error.startswith("UnroutableError")
        assert h.published(ShipOrder) == []


async def test_readiness_reports_the_backlog_and_its_age(database_url: str) -> None:
    overrides: dict[str, Any] = {"outbox_relay": False, "outbox_lag_threshold": 0.05}
    async with harness(database_url, Shop, **overrides) as h:
        report = await h.service.health_report()
        assert report.checks["outbox"].status is HealthStatus.UP
        assert report.checks["outbox"].detail.startswith("0 pending")

        await h.service.place(1)

        async def degraded() -> bool:
            check = (await h.service.health_report()).checks["outbox"]
            return check.status is HealthStatus.DEGRADED

        await eventually(degraded, message="a degraded outbox")
        report = await h.service.health_report()
        assert report.ready  # a backlog is work waiting, not a broken service
        assert report.checks["outbox"].detail.startswith("1 pending, oldest ")
        assert h.messages == []


async def test_retention_keeps_done_rows_then_sweeps_them(database_url: str) -> None:
    async with harness(database_url, outbox_retention=3600) as h:
        await h.service.place(1)
        await eventually(lambda: rows(h.service, status=DONE), message="a done row")
        assert h.published(OrderPlaced) == [OrderPlaced(order_id=1)]

        relay = h.service.outbox.relay
        long_ago = datetime.now(UTC) - timedelta(hours=2)
        async with h.service.db.transaction() as session:
            await session.execute(sa.update(outbox_table).values(published_at=long_ago))
        relay._next_sweep = 0.0
        await relay._sweep()
        assert await rows(h.service) == []


# ---------------------------------------------------------------------- two relays


@pytest.fixture
async def two_outboxes(postgres_url: str) -> AsyncIterator[tuple[Outbox, Outbox, list[str]]]:
    broker = f"memory://outbox-{uuid.uuid4().hex}"
    received: list[str] = []
    opened: list[Any] = []
    outboxes = []
    for n in range(2):
        db = Database(postgres_url, service="two", create_schema=True)
        bus = Bus(broker, service="two")
        outbox = Outbox(db, bus, relay_name=f"relay-{n}", batch_size=20, poll_interval=0.05)
        for resource in (db, bus):
            await resource.__aenter__()
            opened.append(resource)
        outboxes.append(outbox)
    counted = Bus(broker, service="counter")

    @consumer(OrderPlaced.topic)
    async def count(event: OrderPlaced, incoming: Incoming) -> None:  # noqa: ARG001
        assert incoming.message_id is not None
        received.append(incoming.message_id)

    counted.add_consumer(count)
    await counted.__aenter__()
    opened.append(counted)
    for consumer_ in counted.consumers:
        await consumer_.start()
    try:
        yield outboxes[0], outboxes[1], received
    finally:
        for consumer_ in counted.consumers:
            await consumer_.stop()
        for resource in reversed(opened):
            await resource.__aexit__(None, None, None)


@pytest.mark.postgres
async def test_two_relays_on_postgresql_publish_each_row_once(
    two_outboxes: tuple[Outbox, Outbox, list[str]],
) -> None:
    first, second, received = two_outboxes
    written: list[str] = []
    for batch in range(10):
        async with first.db.transaction() as session:
            for n in range(30):
                key = f"user:{n % 7}" if n % 2 else None
                event = OrderPlaced(order_id=batch * 100 + n)
                written.append(await first.publish(event, session=session, key=key))

    async def relay(outbox: Outbox) -> None:
        # Until nothing is left: a pass that found every row claimed by the other one
        # publishes nothing, and the rows it skipped are still pending.
        while await outbox.relay_once() or (await outbox.backlog())[0]:  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.gather(relay(first), relay(second), relay(first), relay(second))
    await eventually(lambda: len(received) >= len(written), message="every message")

    assert sorted(received) == sorted(written)
    assert len(set(received)) == len(received)


# ---------------------------------------------------------------------- svckit outbox


def test_svckit_outbox_lists_retries_and_purges_failed_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.sqlite3'}"
    target = "tests.db._outbox_services:Shop"

    async def two_failed_rows() -> None:
        async with harness(url) as h:
            for n in (1, 2):
                await h.service.outbox.publish(ShipOrder(order_id=n), key="ship")
            await eventually(lambda: _count(h.service, FAILED, 2), message="two failed rows")

    asyncio.run(two_failed_rows())
    monkeypatch.setenv("SVCKIT_DATABASE_URL", url)

    assert main(["outbox", "list", target]) == 0
    listing = capsys.readouterr().out
    assert listing.count("UnroutableError") == 2
    assert main(["outbox", "list", target, "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["status"] for row in listed] == [FAILED, FAILED]
    first, second = (row["id"] for row in listed)

    assert main(["outbox", "retry", target, "--id", str(first)]) == 0
    assert "retried 1" in capsys.readouterr().out
    assert main(["outbox", "list", target, "--status", "pending", "--json"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == [first]

    assert main(["outbox", "purge", target, "--all"]) == 2
    assert "--yes" in capsys.readouterr().err
    assert main(["outbox", "purge", target, "--all", "--yes"]) == 0
    assert "purged 1" in capsys.readouterr().out
    assert main(["outbox", "list", target, "--status", "all", "--json"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == [first]
    assert second != first


async def _count(service: Shop, status: str, count: int) -> bool:
    return len(await rows(service, status=status)) == count


async def test_the_harness_waits_for_the_outbox_and_what_it_relays(database_url: str) -> None:
    async with harness(database_url, Listening) as h:
        for n in range(5):
            await h.service.place(n)
        await h.wait_idle()

        assert sorted(event.order_id for event, _ in h.service.received) == list(range(5))
        assert await rows(h.service) == []
