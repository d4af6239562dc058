"""The Database resource's contract, on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import traceback
import uuid
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from svckit.core.errors import ConfigurationError, LifecycleError
from svckit.core.health import HealthStatus
from svckit.core.settings import Environment, ServiceSettings
from svckit.db import Database, DatabaseError, IntegrityError, TransientDatabaseError

if TYPE_CHECKING:
    from pathlib import Path

metadata = sa.MetaData()
things = sa.Table(
    "things",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(50), unique=True, nullable=False),
)
parts = sa.Table(
    "parts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("thing_id", sa.ForeignKey("things.id"), nullable=False),
)


def make(url: str, **options: object) -> Database:
    return Database(url, service="contract", metadata=metadata, create_schema=True, **options)  # type: ignore[arg-type]


async def names(db: Database) -> list[str]:
    async with db.transaction() as session:
        result = await session.execute(sa.select(things.c.name).order_by(things.c.name))
        return list(result.scalars())


async def insert_then_fail(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(sa.insert(things).values(name="a"))
        raise RuntimeError("boom")


async def nested_then_fail(db: Database) -> None:
    async with db.transaction() as outer:
        async with db.transaction() as inner:
            assert inner is outer
            await inner.execute(sa.insert(things).values(name="inner"))
        raise RuntimeError("the outer block fails after the inner one ended")


async def swallow_an_inner_failure(db: Database) -> None:
    async with db.transaction() as outer:
        await outer.execute(sa.insert(things).values(name="outer"))
        with contextlib.suppress(ValueError):
            async with db.transaction():
                raise ValueError("inner")


async def test_a_transaction_commits_when_the_block_ends(database_url: str) -> None:
    async with make(database_url) as db:
        async with db.transaction() as session:
            await session.execute(sa.insert(things).values(name="a"))

        assert await names(db) == ["a"]


async def test_an_error_in_the_block_rolls_back_and_propagates(database_url: str) -> None:
    async with make(database_url) as db:
        with pytest.raises(RuntimeError, match="boom"):
            await insert_then_fail(db)

        assert await names(db) == []


async def test_a_duplicate_key_is_an_integrity_error_without_the_values(
    database_url: str,
) -> None:
    secret = f"secret-{uuid.uuid4().hex}"  # not in this file's source lines either
    async with make(database_url) as db:
        async with db.transaction() as session:
            await session.execute(sa.insert(things).values(name=secret))

        with pytest.raises(IntegrityError) as caught:
            async with db.transaction() as session:
                await session.execute(sa.insert(things).values(name=secret))

        assert secret not in str(caught.value)
        assert "things" in str(caught.value)
        assert caught.value.__cause__ is not None
        # Nor in the traceback a log line or a dead letter would carry.
        assert secret not in "".join(traceback.format_exception(caught.value))
        assert await names(db) == [secret]


async def test_a_missing_referenced_row_is_an_integrity_error(database_url: str) -> None:
    # SQLite checks foreign keys only when asked to: svckit asks on every connection.
    async with make(database_url) as db:
        with pytest.raises(IntegrityError):
            async with db.transaction() as session:
                await session.execute(sa.insert(parts).values(thing_id=42))


async def test_a_bad_statement_is_a_database_error(database_url: str) -> None:
    async with make(database_url) as db:
        with pytest.raises(DatabaseError) as caught:
            async with db.transaction() as session:
                await session.execute(sa.text("SELECT * FROM no_such_table"))

        assert not isinstance(caught.value, (IntegrityError, TransientDatabaseError))


async def test_a_nested_block_joins_the_outer_transaction(database_url: str) -> None:
    async with make(database_url) as db:
        with pytest.raises(RuntimeError):
            await nested_then_fail(db)

        assert await names(db) == []


async def test_an_inner_failure_caught_by_the_caller_still_rolls_back(
    database_url: str,
) -> None:
    async with make(database_url) as db:
        with pytest.raises(DatabaseError, match="inner transaction block failed"):
            await swallow_an_inner_failure(db)

        assert await names(db) == []


async def test_a_session_commits_only_when_told(database_url: str) -> None:
    async with make(database_url) as db:
        async with db.session() as session:
            await session.execute(sa.insert(things).values(name="dropped"))
        async with db.session() as session:
            await session.execute(sa.insert(things).values(name="kept"))
            await session.commit()

        assert await names(db) == ["kept"]


async def test_health_is_a_round_trip(database_url: str) -> None:
    db = make(database_url)
    assert (await db.health()).status is HealthStatus.DOWN
    async with db:
        health = await db.health()
        assert health.status is HealthStatus.UP
        assert health.detail == db.backend
    assert (await db.health()).status is HealthStatus.DOWN


async def test_the_engine_is_there_only_while_open(database_url: str) -> None:
    db = make(database_url)
    with pytest.raises(LifecycleError):
        _ = db.engine
    async with db:
        assert db.engine is not None
    with pytest.raises(LifecycleError):
        db.session()


async def test_create_tables_creates_the_service_tables_and_the_inbox(database_url: str) -> None:
    async with Database(database_url, metadata=metadata) as db:
        await db.create_tables()
        async with db.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: sa.inspect(c).get_table_names())

    assert {"things", "parts", "svckit_inbox"} <= set(tables)


@pytest.mark.postgres
async def test_an_unreachable_server_fails_to_open_without_the_password() -> None:
    db = Database("postgresql+asyncpg://app:hunter2@127.0.0.1:1/app", service="contract")

    with pytest.raises(TransientDatabaseError) as caught:
        await db.__aenter__()

    assert "hunter2" not in str(caught.value)
    assert "app:***@127.0.0.1:1/app" in str(caught.value)
    assert "hunter2" not in db.url


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    async with Database(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}") as db:  # noqa: SIM117
        async with db.engine.connect() as connection:
            mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
            keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()

    assert (mode, keys) == ("wal", 1)


async def test_the_default_is_a_sqlite_file_named_after_the_service(in_tmp_cwd: Path) -> None:
    users = Database(service="users")
    billing = Database(service="billing")
    assert users.backend == "sqlite"
    async with users, billing:
        pass

    assert sorted(p.name for p in (in_tmp_cwd / ".svckit").iterdir() if p.suffix == ".sqlite3") == [
        "billing.sqlite3",
        "users.sqlite3",
    ]


@pytest.mark.usefixtures("in_tmp_cwd")
def test_from_settings_reads_the_url_and_the_pool() -> None:
    settings = ServiceSettings(
        service_name="orders",
        database_url=SecretStr("postgresql://app:pw@db.internal/orders"),
        database_pool_size=3,
    )
    db = Database.from_settings(settings)

    assert db.url == "postgresql+asyncpg://app:***@db.internal/orders"
    assert db.backend == "postgresql"
    assert db._pool["pool_size"] == 3


@pytest.mark.usefixtures("in_tmp_cwd")
def test_production_refuses_the_embedded_sqlite_default() -> None:
    settings = ServiceSettings(
        service_name="orders",
        environment=Environment.PRODUCTION,
        bus_url=SecretStr("amqp://u:p@rabbit/"),
        cache_url=SecretStr("redis://redis:6379/0"),
        storage_url=SecretStr("redis://redis:6379/1"),
    )

    with pytest.raises(ConfigurationError, match="SVCKIT_DATABASE_URL is not set"):
        Database.from_settings(settings)


def test_production_refuses_a_sqlite_url_and_schema_creation() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ServiceSettings(
            service_name="orders",
            environment=Environment.PRODUCTION,
            bus_url=SecretStr("amqp://u:p@rabbit/"),
            cache_url=SecretStr("redis://redis:6379/0"),
            database_url=SecretStr("sqlite+aiosqlite:///app.sqlite3"),
            database_create_schema=True,
        )

    assert "SVCKIT_DATABASE_URL points at the embedded backend" in str(caught.value)
    assert "SVCKIT_DATABASE_CREATE_SCHEMA is on" in str(caught.value)


@pytest.mark.parametrize(
    "url", ["mysql://root:hunter2@db/app", "postgresql+psycopg://root:hunter2@db/app"]
)
def test_an_unsupported_url_is_refused_without_its_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Database(url)

    assert "hunter2" not in str(caught.value)


def test_settings_refuse_an_unsupported_scheme_without_the_url() -> None:
    with pytest.raises(ConfigurationError, match="SVCKIT_DATABASE_URL") as caught:
        ServiceSettings(database_url=SecretStr("mysql://root:hunter2@db/app"))

    assert "hunter2" not in str(caught.value)


async def test_health_is_down_when_no_answer_comes_in_time(database_url: str) -> None:
    # One connection, held: the health check's SELECT 1 cannot get one.
    db = make(database_url, pool_size=1, max_overflow=0, health_timeout=0.05)
    async with db, db.engine.connect():
        health = await db.health()

    assert health.status is HealthStatus.DOWN
    assert "within 0.05s" in health.detail
