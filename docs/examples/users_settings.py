"""The settings of a users service, shared by the configuration examples."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from svckit import ServiceSettings


# --8<-- [start:settings]
class UsersSettings(ServiceSettings):
    """Read from USERS_* environment variables, then the .env file, then these defaults."""

    model_config = SettingsConfigDict(env_prefix="USERS_")

    database_url: SecretStr = SecretStr("sqlite+aiosqlite:///users.db")
    jwt_secret: SecretStr = SecretStr("dev-only-jwt-secret")
    page_size: int = 20


# --8<-- [end:settings]

if __name__ == "__main__":
    settings = UsersSettings()
    for field in ("page_size", "jwt_secret", "bus_url"):
        print(f"{settings.env_name(field)} = {getattr(settings, field)!r}")
    assert settings.env_name("jwt_secret") == "USERS_JWT_SECRET"
    assert "dev-only" not in repr(settings)
