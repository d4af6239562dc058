"""Alembic migrations for svckit services, run by ``svckit db``.

A service keeps its alembic scripts in a ``migrations`` folder next to its module (or
where its ``migrations`` attribute says). ``svckit db init module:Class`` writes the
folder; its ``env.py`` is two lines::

    from svckit.db.migrations import run_migrations

    run_migrations()

``svckit db upgrade module:Class`` then runs the scripts against the database the
service's own settings name, with the service's ``metadata`` (and svckit's own tables,
`SVCKIT_METADATA`) as the target of ``svckit db revision --autogenerate``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from svckit.core._extras import require
from svckit.core.errors import ConfigurationError
from svckit.db._tables import SVCKIT_METADATA
from svckit.db._url import resolve_url, settings_url

require("alembic", "db")

from alembic import context  # noqa: E402 - after the check for the extra
from alembic.config import Config  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

if TYPE_CHECKING:
    from sqlalchemy import MetaData
    from sqlalchemy.engine import URL, Connection

__all__ = ["run_migrations"]

# Where `svckit db` leaves the service and its URL for env.py.
_SERVICE = "svckit_service"
_URL = "svckit_url"


def run_migrations(service: type[Any] | None = None, *, url: str | None = None) -> None:
    """Run alembic's migrations for a svckit service; call it from the service's env.py.

    Under ``svckit db`` the service and its URL come from the command. Under plain
    ``alembic``, pass the service class (its settings give the URL), or a URL.

    Args:
        service: The service class, when env.py is run by ``alembic`` itself.
        url: The database URL, instead of the one the service's settings name.

    Raises:
        ConfigurationError: neither ``svckit db`` nor the caller named the service.
    """
    config = context.config
    target = config.attributes.get(_SERVICE, service)
    if target is None:
        raise ConfigurationError(
            "run_migrations() does not know the service: run it through "
            "`svckit db upgrade module:Class`, or pass the service class",
        )
    database_url: URL = config.attributes.get(_URL) or (
        resolve_url(url, service="svckit") if url else service_url(target)
    )
    metadata: list[MetaData] = [*_metadata_of(target), SVCKIT_METADATA]
    options: dict[str, Any] = {
        "target_metadata": metadata,
        # SQLite alters tables by copying them: alembic's batch mode does that.
        "render_as_batch": database_url.get_backend_name() == "sqlite",
        "compare_type": True,
    }
    if context.is_offline_mode():
        context.configure(
            url=database_url.render_as_string(hide_password=False),
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
            **options,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(database_url, options))


def service_url(service: type[Any]) -> URL:
    """The database URL of ``service``'s settings (SQLite is refused in production)."""
    return settings_url(service.resolve_settings_class()())


def migrations_dir(service: type[Any]) -> Path:
    """The service's alembic folder: its ``migrations`` attribute, or one next to its module."""
    module = sys.modules[service.__module__]
    base = Path(module.__file__ or ".").resolve().parent
    configured = getattr(service, "migrations", None)
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else base / path
    return base / "migrations"


def alembic_config(service: type[Any], url: URL) -> Config:
    """An alembic configuration for ``service`` and its database ``url``, with no ini file."""
    # alembic's default stdout is the one at its import: give today's.
    config = Config(stdout=sys.stdout)
    # alembic's options are ConfigParser values: a '%' must be doubled.
    config.set_main_option("script_location", str(migrations_dir(service)).replace("%", "%%"))
    config.attributes[_SERVICE] = service
    config.attributes[_URL] = url
    return config


def _metadata_of(service: type[Any]) -> list[MetaData]:
    metadata = getattr(service, "metadata", None)
    if metadata is None:
        return []
    return list(metadata) if isinstance(metadata, (list, tuple)) else [metadata]


async def _run_online(url: URL, options: dict[str, Any]) -> None:
    if url.get_backend_name() == "sqlite" and url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, poolclass=NullPool, hide_parameters=True)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_on, options)
    finally:
        await engine.dispose()


def _run_on(connection: Connection, options: dict[str, Any]) -> None:
    context.configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()
