"""The users API's settings, read from ``USERS_*`` environment variables and ``.env``."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from svckit import ConfigurationError
from svckit.api import ApiSettings

__all__ = ["DEFAULT_SECRET", "OWASP_ARGON2", "UsersSettings"]

#: The development secret; production refuses it.
DEFAULT_SECRET = "dev-only-secret-change-me-0123456789abcdef"  # noqa: S105 - refused in production
#: OWASP's minimum for argon2id: 19 MiB of memory, 2 iterations, 1 lane.
OWASP_ARGON2 = {"memory_cost": 19 * 1024, "time_cost": 2, "parallelism": 1}


class UsersSettings(ApiSettings):
    """Settings of the users API.

    Attributes:
        secret_key: Signs the access tokens (HS256); at least 32 characters. Production
            refuses the development default (as the base settings refuse every default
            secret).
        token_issuer: The ``iss`` of the tokens, checked on decode.
        token_audience: The ``aud`` of the tokens, checked on decode.
        access_ttl: Seconds an access token is valid.
        refresh_ttl: Seconds a refresh token (and its family) is valid.
        argon2_memory_cost: KiB of memory per password hash (OWASP: 19456 at least).
        argon2_time_cost: Iterations per hash (OWASP: 2 at least).
        argon2_parallelism: Lanes per hash (OWASP: 1).
        login_attempts_per_account: Failed logins per account per window before 429.
        login_attempts_per_address: Logins per client address per window before 429.
        login_window: Seconds of the rate-limit window.
        user_cache_ttl: Seconds a user read stays cached.
        upload_max_bytes: The largest image accepted.
        media_namespace: Where media lives in the content store (the media worker's).
        analytics_namespace: The cache namespace of the media worker's counters.
    """

    model_config = SettingsConfigDict(env_prefix="USERS_")

    service_name: str = "users-api"
    secret_key: SecretStr = Field(default=SecretStr(DEFAULT_SECRET), min_length=32)
    token_issuer: str = "users-api"  # noqa: S105 - a name, not a secret
    token_audience: str = "users-api"  # noqa: S105 - a name, not a secret
    access_ttl: int = Field(default=900, ge=10, le=24 * 3600)
    refresh_ttl: int = Field(default=14 * 24 * 3600, ge=60)
    argon2_memory_cost: int = Field(default=OWASP_ARGON2["memory_cost"], ge=8)
    argon2_time_cost: int = Field(default=OWASP_ARGON2["time_cost"], ge=1)
    argon2_parallelism: int = Field(default=OWASP_ARGON2["parallelism"], ge=1)
    login_attempts_per_account: int = Field(default=5, ge=1)
    login_attempts_per_address: int = Field(default=30, ge=1)
    login_window: int = Field(default=300, ge=1)
    user_cache_ttl: int = Field(default=300, ge=1)
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    media_namespace: str = Field(default="media", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    analytics_namespace: str = Field(default="analytics", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

    @model_validator(mode="after")
    def _refuse_weak_production(self) -> UsersSettings:
        if not self.is_production:
            return self
        # The default secret key is refused by the base settings, as every default secret.
        if (
            self.argon2_memory_cost < OWASP_ARGON2["memory_cost"]
            or self.argon2_time_cost < OWASP_ARGON2["time_cost"]
        ):
            raise ConfigurationError(
                "refusing to start in production: the argon2 parameters are below OWASP's "
                "minimum (USERS_ARGON2_MEMORY_COST 19456, USERS_ARGON2_TIME_COST 2)"
            )
        return self
