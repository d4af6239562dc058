"""Database URLs: the per-service SQLite default, the supported drivers, the masked form."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from svckit.core.errors import ConfigurationError

if TYPE_CHECKING:
    from svckit.core.settings import ServiceSettings

#: Where a service's embedded SQLite file lives, under the working directory.
SQLITE_DIRECTORY = ".svckit"

# Each accepted driver name, and the async driver svckit connects it with.
_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


def default_sqlite_path(service: str) -> Path:
    """The embedded SQLite file of ``service``: ``./.svckit/<service>.sqlite3``."""
    return Path.cwd() / SQLITE_DIRECTORY / f"{_SAFE_NAME.sub('_', service)}.sqlite3"


def resolve_url(url: str | SecretStr | URL | None, *, service: str) -> URL:
    """The URL to connect to: ``url`` with its async driver, or the service's SQLite file.

    Raises:
        ConfigurationError: the URL cannot be parsed or names another database (the
            message never holds the URL, which may carry a password).
    """
    if url is None:
        return URL.create("sqlite+aiosqlite", database=str(default_sqlite_path(service)))
    if isinstance(url, SecretStr):
        url = url.get_secret_value()
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(
            "the database URL cannot be parsed; write it as "
            "postgresql+asyncpg://user:password@host:5432/database or "
            "sqlite+aiosqlite:///path/to/file.sqlite3",
        ) from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ConfigurationError(
            f"unsupported database driver {parsed.drivername!r}; use postgresql+asyncpg:// "
            "or sqlite+aiosqlite://",
        )
    return parsed.set(drivername=driver)


def settings_url(settings: ServiceSettings) -> URL:
    """The database URL a service's settings name, refusing SQLite in production.

    Raises:
        ConfigurationError: production without ``database_url``, or a bad URL.
    """
    if settings.database_url is None and settings.is_production:
        raise ConfigurationError(
            "refusing to start in production: "
            f"{settings.env_name('database_url')} is not set, so the database would be "
            "the embedded SQLite file; set it to a postgresql+asyncpg:// URL",
        )
    return resolve_url(settings.database_url, service=settings.service_name)


def masked(url: URL) -> str:
    """``url`` with its password replaced by ``***``, for messages and logs."""
    return url.render_as_string(hide_password=True)


def is_memory(url: URL) -> bool:
    """Whether ``url`` is an in-memory SQLite database (one per connection)."""
    return url.get_backend_name() == "sqlite" and url.database in {None, "", ":memory:"}
