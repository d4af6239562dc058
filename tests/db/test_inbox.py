"""The database inbox: the handler's effects and the "processed" mark commit together."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from svckit.db import _inbox
from svckit.db._tables import inbox_table
from svckit.messaging import consumer
from svckit.testing import ServiceHarness
from svckit.worker import WorkerService
from tests.db._services import Job, Recorder, applied, marks
from tests.messaging.conftest import eventually


def harness(url: str) -> ServiceHarness[Recorder]:
    return ServiceHarness(Recorder, database_url=url, database_create_schema=True)


async def test_a_redelivered_message_is_applied_once(database_url: str) -> None:
    async with harness(database_url) as h:
        for _ in range(3):
            await h.publish(Job(seq=1), message_id="same-id")
        await h.publish(Job(seq=2), message_id="other-id")
        await h.wait_idle()

        assert await applied(h.service) == [1, 2]
        assert h.service.calls == 2
        assert await marks(h.service) == 2
        assert h.dead_letters() == []


async def test_a_failed_try_rolls_back_its_effect_and_its_mark(database_url: str) -> None:
    async with harness(database_url) as h:
        await h.publish(Job(seq=7, fail_first=True), message_id="flaky")
        await eventually(lambda: h.service.calls == 2, message="the retry")
        await h.wait_idle()

        assert await applied(h.service) == [7]
        assert await marks(h.service) == 1
        assert h.dead_letters() == []


async def test_a_handlers_own_cancelled_error_is_its_failure_and_rolls_back(
    database_url: str,
) -> None:
    async with harness(database_url) as h:
        await h.publish(Job(seq=9, cancel=True), message_id="cancels-itself")
        await eventually(lambda: len(h.dead_letters()) == 1, message="the dead letter")
        await h.wait_idle()

        # Retried by the policy (3 tries), not given back until the delivery limit.
        assert h.service.calls == 3
        [letter] = h.dead_letters()
        assert letter.error_type == "svckit.core.errors.HandlerCancelledError"
        assert letter.attempt == 3
        assert await applied(h.service) == []
        assert await marks(h.service) == 0


async def test_concurrent_duplicates_are_applied_once(database_url: str) -> None:
    async with harness(database_url) as h:
        h.service.gate = asyncio.Event()
        consumer_ = h.service.bus.consumers[0]
        await h.publish(Job(seq=3), message_id="twin")
        await h.publish(Job(seq=3), message_id="twin")
        # Both deliveries are in flight: the first holds the transaction, the second waits
        # for the inbox row's key (PostgreSQL) or for SQLite's write lock.
        await eventually(lambda: len(consumer_._work) == 2, message="both deliveries")
        h.service.gate.set()
        await h.wait_idle()

        assert await applied(h.service) == [3]
        assert h.service.calls == 1


async def test_sweep_deletes_only_old_rows_of_that_consumer_in_batches(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_inbox, "SWEEP_BATCH", 2)
    old = datetime.now(UTC) - timedelta(days=8)
    async with harness(database_url) as h:
        inbox = h.service._database_inbox
        assert inbox is not None
        await inbox.stop()  # the background sweep would race with this one
        rows = [
            {"consumer": "svckit.apply", "message_id": f"old-{i}", "processed_at": old}
            for i in range(5)
        ]
        now = datetime.now(UTC)
        rows.append({"consumer": "svckit.apply", "message_id": "new", "processed_at": now})
        rows.append({"consumer": "other.apply", "message_id": "old", "processed_at": old})
        async with h.service.db.transaction() as session:
            await session.execute(sa.insert(inbox_table), rows)
        assert inbox.retained == {"svckit.apply": 7 * 24 * 3600}

        deleted = await inbox.sweep("svckit.apply", 7 * 24 * 3600)

        async with h.service.db.transaction() as session:
            left = (await session.execute(sa.select(inbox_table.c.message_id))).scalars()
            assert sorted(left) == ["new", "old"]
    assert deleted == 5


async def test_the_sweeper_runs_with_the_service(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    swept = asyncio.Event()
    real = _inbox.DatabaseInbox.sweep

    async def sweep(self: _inbox.DatabaseInbox, consumer: str, older_than: float) -> int:
        result = await real(self, consumer, older_than)
        swept.set()
        return result

    monkeypatch.setattr(_inbox.DatabaseInbox, "sweep", sweep)
    async with harness(f"sqlite+aiosqlite:///{tmp_path}/s.sqlite3") as h:
        assert any(i.name == "database-inbox" for i in h.service.intakes())
        async with asyncio.timeout(10):
            await swept.wait()


def test_the_database_inbox_needs_a_database() -> None:
    class NoDatabase(WorkerService):
        @consumer("x.y", idempotent=True, inbox="database")
        async def apply(self, body: bytes) -> None:
            del body

    with pytest.raises(Exception, match="uses_database = True"):
        ServiceHarness(NoDatabase)


def test_the_database_inbox_needs_idempotent() -> None:
    with pytest.raises(ValueError, match="idempotent=True"):
        consumer("x.y", inbox="database")
