"""A handler killed after its effect and before its ack, again and again: each effect once.

Real RabbitMQ and PostgreSQL; the worker is a ``svckit run`` child killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import uuid

import aio_pika
import pytest
import sqlalchemy as sa

from svckit.db import Database
from svckit.messaging import Bus
from tests._processes import svckit_run
from tests.db._inbox_worker import Job, calls, effects
from tests.messaging.conftest import AMQP_URL, eventually

JOBS = 120
KILLS = 5

pytestmark = [pytest.mark.slow, pytest.mark.rabbitmq, pytest.mark.postgres]


async def count(db: Database, table: sa.Table, *, distinct: bool = False) -> int:
    column = sa.func.count(sa.distinct(table.c.seq)) if distinct else sa.func.count()
    async with db.transaction() as session:
        return int((await session.execute(sa.select(column).select_from(table))).scalar_one())


@pytest.mark.timeout(120)
async def test_killed_handlers_leave_each_effect_applied_exactly_once(postgres_url: str) -> None:
    service = f"inbox-kill-{uuid.uuid4().hex[:8]}"
    env = {
        "SVCKIT_SERVICE_NAME": service,
        "SVCKIT_BUS_URL": AMQP_URL,
        "SVCKIT_CACHE_URL": "memory://",
        "SVCKIT_DATABASE_URL": postgres_url,
        "SVCKIT_DATABASE_CREATE_SCHEMA": "true",
        "SVCKIT_ENVIRONMENT": "test",
        "SVCKIT_HEALTH_PORT": "0",
        "SVCKIT_LOG_FORMAT": "json",
    }
    publisher = Bus(AMQP_URL, service=f"{service}-publisher")
    db = Database(postgres_url)
    try:
        async with publisher:
            killed_mid_work = 0
            gap = 0  # calls whose effect is not there: the ones that will run again
            for round_ in range(KILLS + 1):
                async with svckit_run("tests.db._inbox_worker:Applier", env) as worker:
                    await worker.wait_log("service started")
                    if round_ == 0:
                        await db.__aenter__()
                        for seq in range(JOBS):
                            await publisher.publish(Job(seq=seq))
                    if round_ == KILLS:
                        await eventually(lambda: _done(db), timeout=60, message="every job applied")
                        assert await worker.stop() == 0
                        break
                    before = await count(db, effects)
                    await eventually(
                        lambda before=before: _grown(db, before),
                        timeout=30,
                        message="more effects committed",
                    )
                    if await count(db, effects) < JOBS:
                        # Kill while a handler has written its effect and not committed it.
                        await eventually(
                            lambda gap=gap: _mid_work(db, gap),
                            timeout=30,
                            message="a handler in flight",
                        )
                    worker.process.kill()  # SIGKILL: handlers in flight never ack
                    await worker.process.wait()
                    # Nothing is in flight now: every call without its effect ran in vain.
                    gap = await count(db, calls) - await count(db, effects)
                    if await count(db, effects) < JOBS:
                        killed_mid_work += 1

            assert await count(db, effects) == JOBS
            assert await count(db, effects, distinct=True) == JOBS
            # Killed handlers had written their effect: it rolled back and ran again.
            assert killed_mid_work >= 1
            assert await count(db, calls) > JOBS
    finally:
        await db.__aexit__(None, None, None)
        await _delete_queues(f"{service}.apply")


async def _grown(db: Database, before: int) -> bool:
    now = await count(db, effects)
    return now >= min(before + 10, JOBS)


async def _mid_work(db: Database, gap: int) -> bool:
    # A call counted (committed on its own) whose effect is not committed yet.
    return await count(db, calls) - await count(db, effects) > gap


async def _done(db: Database) -> bool:
    return await count(db, effects, distinct=True) >= JOBS


async def _delete_queues(queue: str) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        for name in (queue, f"{queue}.dlq"):
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)
