"""Fixtures for the database tests: one URL per backend, each a database of its own."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from tests._postgres import empty_database

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


@pytest.fixture
async def postgres_url(tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a throwaway PostgreSQL database, dropped after the test."""
    async with empty_database("postgresql", tmp_path) as url:
        yield url


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL of an empty database on each backend: a SQLite file, or a PostgreSQL database."""
    async with empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def in_tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test in an empty working directory, with no svckit variables set."""
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("SVCKIT_")]:
        monkeypatch.delenv(key)
    return tmp_path
