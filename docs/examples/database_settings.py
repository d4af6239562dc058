"""Production refuses the embedded SQLite database, and creating the schema on start.

Run it as is (``python docs/examples/database_settings.py``).
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from svckit import ConfigurationError, Environment, ServiceSettings
from svckit.db import Database


def production(**values: Any) -> ServiceSettings:
    """Settings of a production service with a real broker and cache, and ``values``."""
    return ServiceSettings(
        service_name="orders",
        environment=Environment.PRODUCTION,
        bus_url=SecretStr("amqp://orders:s3cret@rabbit.internal:5672/"),
        cache_url=SecretStr("redis://redis.internal:6379/0"),
        storage_url=SecretStr("redis://redis.internal:6379/1"),
        **values,
    )


# --8<-- [start:production]
# No database_url: the database would be the embedded SQLite file.
try:
    Database.from_settings(production())
except ConfigurationError as exc:
    message = str(exc)
    print(message)
assert "SVCKIT_DATABASE_URL is not set" in message

# A SQLite URL, and the schema created on start: both refused, each variable named.
try:
    production(
        database_url=SecretStr("sqlite+aiosqlite:///orders.sqlite3"),
        database_create_schema=True,
    )
except ConfigurationError as exc:
    message = str(exc)
    print(message)
assert "SVCKIT_DATABASE_URL points at the embedded backend" in message
assert "SVCKIT_DATABASE_CREATE_SCHEMA is on" in message

# PostgreSQL is accepted; the password never shows.
settings = production(database_url=SecretStr("postgresql+asyncpg://orders:s3cret@db/orders"))
assert Database.from_settings(settings).url == "postgresql+asyncpg://orders:***@db/orders"
# --8<-- [end:production]
