"""Throwaway databases for tests: a PostgreSQL database of a test's own, or a SQLite file.

Each PostgreSQL database is created empty on the machine's server and dropped after the
test (``WITH (FORCE)``, so a connection a failed test left open does not keep it), so
nothing is left on the shared server.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def pg_url(database: str) -> str:
    """The SQLAlchemy URL of ``database`` on the machine's PostgreSQL."""
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"


async def create_pg_database() -> str:
    """A new, empty PostgreSQL database on the machine's server; its name."""
    import asyncpg  # noqa: PLC0415 - only when PostgreSQL is there

    name = f"svckit_t_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return name


async def drop_pg_database(name: str) -> None:
    """Drop ``name``, whoever is still connected to it."""
    import asyncpg  # noqa: PLC0415

    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def empty_database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database: a SQLite file in ``tmp_path``, or PostgreSQL's."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
        return
    name = await create_pg_database()
    try:
        yield pg_url(name)
    finally:
        await drop_pg_database(name)
