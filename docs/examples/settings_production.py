"""Production refuses embedded backends, default secrets and the default service name."""

from __future__ import annotations

import os
import secrets

from users_settings import UsersSettings

from svckit import ConfigurationError, Environment

# --8<-- [start:refusal]
try:
    UsersSettings(environment=Environment.PRODUCTION)
except ConfigurationError as exc:
    message = str(exc)
    print(message)

for variable in (
    "USERS_SERVICE_NAME",
    "USERS_BUS_URL",
    "USERS_CACHE_URL",
    "USERS_DATABASE_URL",
    "USERS_STORAGE_URL",
    "USERS_JWT_SECRET",
):
    assert variable in message
assert "dev-only-jwt-secret" not in message  # the message never shows a secret
# --8<-- [end:refusal]

# --8<-- [start:accepted]
# In a real deployment these come from the orchestrator's secret store.
os.environ.update(
    USERS_ENVIRONMENT="production",
    USERS_SERVICE_NAME="users",
    USERS_BUS_URL="amqp://users:s3cret@rabbit.internal:5672/",
    USERS_CACHE_URL="redis://redis.internal:6379/0",
    USERS_DATABASE_URL="postgresql+asyncpg://users:s3cret@db.internal/users",
    USERS_STORAGE_URL="file:///var/lib/users/content",
    USERS_JWT_SECRET=secrets.token_urlsafe(32),
)
settings = UsersSettings()
assert settings.is_production
# --8<-- [end:accepted]
