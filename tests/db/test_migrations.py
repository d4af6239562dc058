"""Migrations through ``svckit db``: from an empty database up to head and back, on both."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import uuid
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from svckit.cli import main
from svckit.db import Database
from tests._postgres import create_pg_database, drop_pg_database, pg_url

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SERVICE = """
    import sqlalchemy as sa
    from svckit.worker import WorkerService

    metadata = sa.MetaData()
    sa.Table(
        "notes",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("text", sa.String(200), nullable=False),
    )

    class Notes(WorkerService):
        uses_database = True
        metadata = metadata
"""


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def service(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A service module in an empty working directory, its URL in the environment."""
    module = f"notes_{uuid.uuid4().hex[:8]}"
    package = tmp_path / module
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(SERVICE))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    name = None
    if request.param == "postgresql":
        name = asyncio.run(create_pg_database())
        monkeypatch.setenv("SVCKIT_DATABASE_URL", pg_url(name))
    else:
        monkeypatch.delenv("SVCKIT_DATABASE_URL", raising=False)
    try:
        yield f"{module}:Notes"
    finally:
        sys.modules.pop(module, None)
        if name is not None:
            asyncio.run(drop_pg_database(name))


def tables(target: str) -> set[str]:
    from svckit.cli._run import load_target  # noqa: PLC0415
    from svckit.db.migrations import service_url  # noqa: PLC0415

    async def read() -> set[str]:
        async with Database(service_url(load_target(target))) as db:  # noqa: SIM117
            async with db.engine.connect() as connection:
                names = await connection.run_sync(lambda c: sa.inspect(c).get_table_names())
        return set(names)

    return asyncio.run(read())


def test_upgrade_from_empty_and_downgrade_back(
    service: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "init", service]) == 0
    assert (tmp_path / service.split(":", maxsplit=1)[0] / "migrations" / "env.py").exists()
    assert main(["db", "revision", service, "-m", "notes", "--autogenerate"]) == 0
    capsys.readouterr()

    assert main(["db", "upgrade", service]) == 0
    assert {"notes", "svckit_inbox", "alembic_version"} <= tables(service)
    assert main(["db", "current", service]) == 0
    assert "(head)" in capsys.readouterr().out

    assert main(["db", "downgrade", service, "base"]) == 0
    assert tables(service) & {"notes", "svckit_inbox"} == set()
    assert main(["db", "current", service]) == 0
    assert "(head)" not in capsys.readouterr().out


def test_upgrade_sql_prints_the_statements_without_running_them(
    service: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "init", service]) == 0
    assert main(["db", "revision", service, "-m", "empty"]) == 0
    capsys.readouterr()

    assert main(["db", "upgrade", service, "--sql"]) == 0

    assert "alembic_version" in capsys.readouterr().out
    assert "alembic_version" not in tables(service)


def test_a_service_without_a_database_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plain_svc.py").write_text(
        "from svckit.worker import WorkerService\nclass Plain(WorkerService):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert main(["db", "upgrade", "plain_svc:Plain"]) == 2
    finally:
        sys.modules.pop("plain_svc", None)
    assert "uses_database = True" in capsys.readouterr().err


def test_an_unreachable_database_fails_without_the_password(
    service: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "init", service]) == 0
    monkeypatch.setenv("SVCKIT_DATABASE_URL", "postgresql+asyncpg://app:hunter2@127.0.0.1:1/x")

    assert main(["db", "current", service]) == 1

    err = capsys.readouterr().err
    assert "hunter2" not in err
    assert "app:***@127.0.0.1:1/x" in err
