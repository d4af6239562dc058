"""Handlers take a session by keyword: a transaction around each call."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from svckit.core.retry import RetryPolicy
from svckit.messaging import ConsumerRouter, Event, consumer
from svckit.messaging.router import inject
from svckit.testing import ServiceHarness
from svckit.worker import WorkerService
from tests._processes import run_python
from tests.db._services import effects, metadata

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncSession

    from svckit.db import Database


class Note(Event, topic="dbtest.note"):
    seq: int
    fail: bool = False


router = ConsumerRouter()
seen_sessions: list[object] = []


@router.consumer(retry=RetryPolicy(attempts=1))
async def write(note: Note, *, session: AsyncSession, db: Database) -> None:
    assert db.backend == "sqlite"
    seen_sessions.append(session)
    await session.execute(sa.insert(effects).values(seq=note.seq))
    if note.fail:
        raise RuntimeError("rolled back with its effect")


class Notes(WorkerService):
    uses_database = True
    metadata = metadata
    routers = (router,)


def harness(tmp_path: Path) -> ServiceHarness[Notes]:
    return ServiceHarness(
        Notes,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'notes.sqlite3'}",
        database_create_schema=True,
    )


async def committed(service: Notes) -> list[int]:
    async with service.db.transaction() as session:
        return list((await session.execute(sa.select(effects.c.seq))).scalars())


async def test_a_handler_that_returns_commits_and_one_that_raises_rolls_back(
    tmp_path: Path,
) -> None:
    seen_sessions.clear()
    async with harness(tmp_path) as h:
        await h.publish(Note(seq=1))
        await h.publish(Note(seq=2, fail=True))
        await h.publish(Note(seq=3))
        await h.wait_idle()

        assert sorted(await committed(h.service)) == [1, 3]
        assert len(h.dead_letters()) == 1
    # A fresh session for each call.
    assert len({id(s) for s in seen_sessions}) == 3


async def test_a_service_method_takes_a_session_too(tmp_path: Path) -> None:
    class Methods(WorkerService):
        uses_database = True
        metadata = metadata

        @consumer("dbtest.note")
        async def write(self, note: Note, *, session: AsyncSession) -> None:
            await session.execute(sa.insert(effects).values(seq=note.seq))

    url = f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}"
    async with ServiceHarness(Methods, database_url=url, database_create_schema=True) as h:
        await h.publish(Note(seq=5))
        await h.wait_idle()
        async with h.service.db.transaction() as session:
            assert list((await session.execute(sa.select(effects.c.seq))).scalars()) == [5]
        report = await h.service.health_report()
        assert report.checks["database"].status == "up"


def test_a_handler_asking_for_a_session_needs_a_database() -> None:
    class NoDatabase(WorkerService):
        routers = (router,)

    with pytest.raises(TypeError, match="'session'"):
        ServiceHarness(NoDatabase)


async def test_a_service_without_a_database_opens_none(
    in_tmp_cwd: Path,
) -> None:
    class Plain(WorkerService):
        @consumer("dbtest.note")
        async def read(self, note: Note) -> None:
            del note

    async with ServiceHarness(Plain) as h:
        assert not hasattr(h.service, "db")
        assert [r.name for r in h.service.resources()] == ["cache", "storage", "bus"]
    assert not (in_tmp_cwd / ".svckit").exists()


def test_a_worker_without_a_database_never_imports_sqlalchemy() -> None:
    result = run_python(
        """
        import asyncio, json, sys
        from svckit.testing import ServiceHarness
        from svckit.worker import WorkerService

        class Plain(WorkerService):
            pass

        async def main():
            async with ServiceHarness(Plain):
                pass

        asyncio.run(main())
        print(json.dumps("sqlalchemy" in sys.modules))
        """
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) is False


async def test_the_harness_gives_a_database_service_a_throwaway_sqlite_file(
    in_tmp_cwd: Path,
) -> None:
    async with ServiceHarness(Notes) as h:
        await h.publish(Note(seq=9))
        await h.wait_idle()
        assert await committed(h.service) == [9]  # its tables were created on start
        folder = h._own_folder
        assert folder is not None
        assert h.service.db.url.endswith(f"{folder}/db.sqlite3")

    assert not (in_tmp_cwd / ".svckit").exists()
    assert not (in_tmp_cwd / folder).exists()


def test_without_the_db_extra_the_import_says_what_to_install() -> None:
    result = run_python(
        """
        import sys
        sys.modules["sqlalchemy"] = None  # as if the db extra were not installed
        try:
            import svckit.db
        except ImportError as exc:
            print(type(exc).__name__, exc)
        """
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("MissingExtraError")
    assert 'pip install "svckit[db]"' in result.stdout


async def test_a_per_call_dependency_is_made_fresh_around_each_call() -> None:
    events: list[str] = []

    class Provider:
        greeting = "hello"

        def per_call_dependencies(self) -> dict[str, Any]:
            @contextlib.asynccontextmanager
            async def counter() -> AsyncIterator[int]:
                events.append("enter")
                yield len(events)
                events.append("exit")

            return {"unit": counter}

    async def handler(body: bytes, *, unit: int, greeting: str) -> None:
        events.append(f"{greeting} {body.decode()} in {unit}")

    call = inject(handler, Provider())
    await call(b"a")
    await call(b"b")

    assert events == ["enter", "hello a in 1", "exit", "enter", "hello b in 4", "exit"]
