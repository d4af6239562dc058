"""The relay's lifecycle and signals: shutdown, NOTIFY wake-ups, metrics."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from svckit.core.health import Health
from svckit.db import Database, Outbox, _relay
from svckit.messaging import Bus
from tests.db._outbox_services import OrderPlaced, ShipOrder
from tests.messaging.conftest import eventually

if TYPE_CHECKING:
    from pathlib import Path

    from svckit.messaging.transport import Outgoing


class GatedTransport:
    """Publishes only once the gate opens, so a test holds a batch in flight."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.started = asyncio.Event()
        self.sent: list[Outgoing] = []

    async def publish(self, exchange: str, message: Outgoing, *, mandatory: bool) -> None:  # noqa: ARG002
        self.started.set()
        await self.gate.wait()
        self.sent.append(message)

    async def health(self) -> Health:
        return Health.up()


def sqlite(tmp_path: Path) -> Database:
    return Database(f"sqlite+aiosqlite:///{tmp_path / 'relay.sqlite3'}", create_schema=True)


async def test_shutdown_finishes_the_batch_in_flight(tmp_path: Path) -> None:
    transport = GatedTransport()
    async with sqlite(tmp_path) as db:
        outbox = Outbox(db, Bus(transport=transport), shutdown_timeout=30)  # type: ignore[arg-type]
        async with outbox:
            message_id = await outbox.publish(OrderPlaced(order_id=1))
            await asyncio.wait_for(transport.started.wait(), 10)
            closing = asyncio.ensure_future(outbox.__aexit__(None, None, None))
            await asyncio.sleep(0)
            transport.gate.set()
            await asyncio.wait_for(closing, 10)
        assert [m.message_id for m in transport.sent] == [message_id]
        assert await outbox.backlog() == (0, 0.0)


async def test_a_pass_cut_off_at_the_deadline_leaves_its_row_for_later(tmp_path: Path) -> None:
    transport = GatedTransport()
    async with sqlite(tmp_path) as db:
        outbox = Outbox(db, Bus(transport=transport), shutdown_timeout=0.05)  # type: ignore[arg-type]
        async with outbox:
            await outbox.publish(OrderPlaced(order_id=1))
            await asyncio.wait_for(transport.started.wait(), 10)
        assert transport.sent == []
        count, _ = await outbox.backlog()
        assert count == 1  # still pending: its lease runs out, and a relay publishes it


async def test_metrics_count_published_and_failed_rows_and_the_lag(tmp_path: Path) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    from svckit.core.retry import RetryPolicy  # noqa: PLC0415

    try:
        async with sqlite(tmp_path) as db:
            bus = Bus(f"memory://relay-{uuid.uuid4().hex}", service="metered")
            retry = RetryPolicy(attempts=1)
            outbox = Outbox(db, bus, retry=retry, meter_provider=provider, relay=False)
            async with bus:
                await outbox.publish(OrderPlaced(order_id=1))
                await outbox.publish(ShipOrder(order_id=2))  # unroutable: fails for good
                await outbox.relay_once()
                await outbox.health()
        totals = _totals(reader)
    finally:
        provider.shutdown()
    assert totals["svckit.outbox.published"] == 1
    assert totals["svckit.outbox.failed"] == 1
    assert totals["svckit.outbox.lag"] == 1  # one sample
    assert totals["svckit.outbox.pending"] == 0


def _totals(reader: InMemoryMetricReader) -> dict[str, float]:
    data = reader.get_metrics_data()
    assert data is not None
    totals: dict[str, float] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value: Any = getattr(point, "value", None)
                    if value is None:
                        value = getattr(point, "count", 0)
                    totals[metric.name] = totals.get(metric.name, 0) + float(value)
    return totals


@pytest.mark.postgres
async def test_a_write_only_process_wakes_the_relay_with_notify(postgres_url: str) -> None:
    transport = GatedTransport()
    transport.gate.set()
    writer_db = Database(postgres_url, service="writer", create_schema=True)
    relay_db = Database(postgres_url, service="relay")
    async with writer_db, relay_db:
        writer = Outbox(writer_db, Bus(transport=transport), relay=False)  # type: ignore[arg-type]
        # Polling once a minute: only the NOTIFY can wake it within the test's deadline.
        relay = Outbox(relay_db, Bus(transport=transport), poll_interval=60)  # type: ignore[arg-type]
        async with relay:
            # Both of its passes have looked once, found nothing, and sleep on LISTEN.
            await eventually(lambda: relay.relay.passes >= 2, message="the relay idle")
            async with writer_db.transaction() as session:
                message_id = await writer.publish(OrderPlaced(order_id=1), session=session)
            await eventually(
                lambda: [m.message_id for m in transport.sent] == [message_id],
                timeout=20,
                message="the row published after the NOTIFY",
            )


@pytest.mark.postgres
async def test_the_relay_listens_again_after_its_connection_is_dropped(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_relay, "RELISTEN_INTERVAL", 0.05)
    transport = GatedTransport()
    transport.gate.set()
    db = Database(postgres_url, service="relisten", create_schema=True)
    async with db:
        outbox = Outbox(db, Bus(transport=transport), poll_interval=0.05)  # type: ignore[arg-type]
        async with outbox:
            relay = outbox.relay
            await eventually(lambda: relay._listener is not None, message="the relay listening")
            first = relay._listener
            async with db.transaction() as session:
                await session.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = 'relisten' AND query LIKE 'LISTEN%'"
                    )
                )
            await eventually(
                lambda: relay._listener is not first and relay._listener is not None,
                timeout=20,
                message="a new LISTEN connection",
            )
            assert relay._listener is not None
            assert relay._listener.alive


async def test_a_crash_between_confirm_and_delete_republishes_the_same_message_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = GatedTransport()
    transport.gate.set()
    async with sqlite(tmp_path) as db:
        outbox = Outbox(db, Bus(transport=transport), lease=0.05, relay=False)  # type: ignore[arg-type]
        message_id = await outbox.publish(OrderPlaced(order_id=1))
        settle = _relay.Relay._settle

        async def crash(*_args: Any, **_kwargs: Any) -> None:
            raise ConnectionResetError("the process died before its delete")

        monkeypatch.setattr(_relay.Relay, "_settle", crash)
        with pytest.raises(ConnectionResetError):
            await outbox.relay_once()
        monkeypatch.setattr(_relay.Relay, "_settle", settle)

        async def published_again() -> bool:
            await outbox.relay_once()  # nothing until the dead relay's lease ran out
            return len(transport.sent) == 2

        await eventually(published_again, message="the row published again")
        assert [m.message_id for m in transport.sent] == [message_id, message_id]
        assert await outbox.backlog() == (0, 0.0)


async def test_what_the_table_cannot_hold_is_refused_at_the_call(tmp_path: Path) -> None:
    async with sqlite(tmp_path) as db:
        outbox = Outbox(db, Bus("memory://"), relay=False)
        with pytest.raises(ValueError, match="key"):
            await outbox.publish(OrderPlaced(order_id=1), key="k" * 256)
        with pytest.raises(ValueError, match="message id"):
            await outbox.publish(OrderPlaced(order_id=1), message_id="m" * 256)
        with pytest.raises(TypeError, match="JSON"):
            await outbox.publish(OrderPlaced(order_id=1), headers={"x-raw": b"\x00"})
        assert await outbox.backlog() == (0, 0.0)
