"""Fixtures of the users API's tests: the API in a harness, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from examples.users_api.service import UsersApi
from svckit.testing import ApiHarness
from tests._postgres import empty_database
from tests.examples.users_api._support import StartApi, overrides

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database on each backend: a SQLite file, or a PostgreSQL database."""
    async with empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def start_api(database_url: str) -> AsyncIterator[StartApi]:
    """``await start_api(**settings)``: the users API in a harness, on ``database_url``."""
    started: list[ApiHarness[UsersApi]] = []

    async def start(**values: Any) -> ApiHarness[UsersApi]:
        settings = overrides(
            **{"database_url": database_url, "database_create_schema": True} | values
        )
        harness = ApiHarness(UsersApi, **settings)
        await harness.__aenter__()
        started.append(harness)
        return harness

    yield start
    for harness in reversed(started):
        await harness.__aexit__(None, None, None)


@pytest.fixture
async def api(start_api: StartApi) -> ApiHarness[UsersApi]:
    """The users API with the test settings."""
    return await start_api()
