"""The users API's alembic scripts build the schema it runs on, on both backends."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.examples.users_api._support import login, register

if TYPE_CHECKING:
    from tests.examples.users_api._support import StartApi

ROOT = Path(__file__).resolve().parents[3]
TARGET = "examples.users_api.service:UsersApi"


async def _svckit_db(*args: str, url: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "svckit",
        "db",
        *args,
        TARGET,
        cwd=ROOT,
        env={**os.environ, "USERS_DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_upgrade_builds_the_schema_the_api_runs_on(
    database_url: str, start_api: StartApi
) -> None:
    await _svckit_db("upgrade", url=database_url)
    assert "(head)" in await _svckit_db("current", url=database_url)
    api = await start_api(database_create_schema=False)
    await register(api.client, "ada@example.com")
    await login(api.client, "ada@example.com")


async def test_the_migrations_match_the_tables_the_code_declares(
    database_url: str, start_api: StartApi
) -> None:
    from alembic.autogenerate import compare_metadata  # noqa: PLC0415
    from alembic.migration import MigrationContext  # noqa: PLC0415

    await _svckit_db("upgrade", url=database_url)
    api = await start_api(database_create_schema=False)

    def differences(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection)
        # alembic compares a sequence of MetaData too, as svckit db revision does.
        return list(compare_metadata(context, api.service.db.metadata))  # type: ignore[arg-type]

    async with api.service.db.engine.connect() as connection:
        diff = await connection.run_sync(differences)
    # A change to a table (the service's or svckit's own) needs a migration of its own.
    assert diff == []
