"""The outbox across failures: a process killed after its commit, a broker that goes away.

Real RabbitMQ and PostgreSQL; the killed writer is a ``svckit run`` child, the broker that
goes away a private node (never the shared one).
"""

from __future__ import annotations

import contextlib
import uuid
from typing import TYPE_CHECKING, Any

import aio_pika
import pytest
import sqlalchemy as sa

from svckit.core.health import HealthStatus
from svckit.core.settings import Environment
from svckit.db import Database
from svckit.db._outbox_table import outbox_table
from svckit.messaging import Bus, Incoming, consumer
from tests._processes import svckit_run
from tests._rabbit_node import PrivateNode
from tests.db._outbox_services import OrderPlaced, PlaceOrder, Shop, orders
from tests.messaging.conftest import AMQP_URL, eventually

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

pytestmark = [pytest.mark.slow, pytest.mark.rabbitmq]


async def _count(db: Database, table: sa.Table) -> int:
    async with db.transaction() as session:
        result = await session.execute(sa.select(sa.func.count()).select_from(table))
        return int(result.scalar_one())


@contextlib.asynccontextmanager
async def placed_events(url: str) -> AsyncIterator[list[aio_pika.abc.AbstractIncomingMessage]]:
    """Every ``OrderPlaced`` published on the broker at ``url`` while the block runs."""
    received: list[aio_pika.abc.AbstractIncomingMessage] = []
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            "svckit", aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, OrderPlaced.topic)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            received.append(message)
            await message.ack()

        await queue.consume(on_message)
        yield received


@pytest.mark.postgres
@pytest.mark.timeout(120)
async def test_an_event_committed_before_a_sigkill_is_published_after_restart(
    postgres_url: str,
) -> None:
    service = f"outbox-kill-{uuid.uuid4().hex[:8]}"
    env = {
        "SVCKIT_SERVICE_NAME": service,
        "SVCKIT_BUS_URL": AMQP_URL,
        "SVCKIT_DATABASE_URL": postgres_url,
        "SVCKIT_DATABASE_CREATE_SCHEMA": "true",
        "SVCKIT_ENVIRONMENT": "test",
        "SVCKIT_LOG_FORMAT": "json",
        "SVCKIT_OUTBOX_POLL_INTERVAL": "0.1",
    }
    order_id = uuid.uuid4().int % 1_000_000_000
    target = "tests.db._outbox_services:Placer"
    db = Database(postgres_url)
    publisher = Bus(AMQP_URL, service=f"{service}-publisher")
    try:
        async with placed_events(AMQP_URL) as received, publisher:
            # The first process commits the order and its outbox row, and cannot publish.
            async with svckit_run(target, {**env, "SVCKIT_OUTBOX_RELAY": "false"}) as first:
                await first.wait_log("service started")
                await publisher.publish(PlaceOrder(order_id=order_id))
                await db.__aenter__()
                await eventually(lambda: _count(db, orders), message="the order committed")
                first.process.kill()
                await first.process.wait()
            async with db.transaction() as session:
                [row] = (await session.execute(sa.select(outbox_table))).all()
            assert [m for m in received if m.message_id == row.message_id] == []

            async with svckit_run(target, env) as second:
                await second.wait_log("service started")
                await eventually(
                    lambda: any(m.message_id == row.message_id for m in received),
                    message="the event published by the restarted process",
                )
                await eventually(lambda: _empty(db), message="the outbox row deleted")
                assert await second.stop() == 0
        [event] = [m for m in received if m.message_id == row.message_id]
        assert OrderPlaced.model_validate_json(event.body) == OrderPlaced(order_id=order_id)
    finally:
        await db.__aexit__(None, None, None)
        await _delete_queue(f"{service}.on_place")


async def _empty(db: Database) -> bool:
    return await _count(db, outbox_table) == 0


async def _delete_queue(queue: str) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        for name in (queue, f"{queue}.dlq"):
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)


class Counting(Shop):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: set[str] = set()

    @consumer()
    async def on_placed(self, event: OrderPlaced, incoming: Incoming) -> None:  # noqa: ARG002
        assert incoming.message_id is not None
        self.received.add(incoming.message_id)


@pytest.mark.timeout(180)
async def test_rows_accumulate_while_the_broker_is_away_and_drain_after(tmp_path: Path) -> None:
    async with PrivateNode(tmp_path) as node:
        settings = Counting.resolve_settings_class()(
            _env_file=None,
            service_name=f"outbox-outage-{uuid.uuid4().hex[:6]}",
            environment=Environment.TEST,
            bus_url=node.url,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'shop.sqlite3'}",
            database_create_schema=True,
            outbox_poll_interval=0.1,
            outbox_lag_threshold=0.5,
        )
        service = Counting(settings)
        async with service:
            written = {await service.place(n) for n in range(5)}
            await eventually(lambda: service.received >= written, message="the first events")

            await node.stop_app()
            while_away = {await service.place(n) for n in range(5, 25)}
            written |= while_away

            async def reported() -> bool:
                check = (await service.health_report()).checks["outbox"]
                return check.status is HealthStatus.DEGRADED and "20 pending" in check.detail

            await eventually(reported, timeout=30, message="readiness reporting the backlog")
            assert not service.received & while_away

            await node.start_app()
            await eventually(
                lambda: service.received >= written, timeout=90, message="the backlog drained"
            )
            assert (await service.outbox.backlog())[0] == 0
            check = (await service.health_report()).checks["outbox"]
            assert check.status is HealthStatus.UP
        assert service.received == written
