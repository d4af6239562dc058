"""Settings: one class per service, read from the environment and ``.env``.

Every service's settings subclass `ServiceSettings` and choose their own environment
prefix::

    class UsersSettings(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="USERS_")

        jwt_secret: SecretStr = SecretStr("dev-only-secret")

The defaults are the embedded backends, so a service runs with no infrastructure. In
production, settings refuse embedded backends and secrets left at their default, and the
error names each variable to set.
"""

from __future__ import annotations

import enum
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from svckit.core.errors import ConfigurationError

__all__ = ["DEFAULT_SERVICE_NAME", "EMBEDDED_SCHEMES", "Environment", "ServiceSettings"]

#: URL schemes of the backends svckit embeds in the process. They keep no data across
#: restarts and are not shared between processes, so production refuses them.
EMBEDDED_SCHEMES = frozenset({"memory", "sqlite", "sqlite+aiosqlite"})

#: The service name a service gets when it sets none; production refuses it, since two
#: services left at it would share queues and a cache namespace.
DEFAULT_SERVICE_NAME = "svckit"

#: The URL schemes each backend setting accepts, with whether the URL must name a host.
_BUS_SCHEMES = {"memory": False, "amqp": True, "amqps": True}
_CACHE_SCHEMES = {"memory": False, "redis": True, "rediss": True}
_STORAGE_SCHEMES = {"memory": False, "redis": True, "rediss": True, "file": False}


class Environment(enum.StrEnum):
    """Where a service runs; production turns on the safety checks."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ServiceSettings(BaseSettings):
    """The base of every service's settings.

    Values come, highest first, from constructor arguments, environment variables (with
    the class's ``env_prefix``, ``SVCKIT_`` unless a subclass sets another), the ``.env``
    file in the working directory, and the defaults below.

    Attributes:
        service_name: Names the service in logs, traces, metrics, queue names and the
            cache namespace. Production refuses the default (``svckit``): set one per
            service.
        environment: ``development``, ``test`` or ``production``.
        log_level: The lowest level logged.
        log_format: ``json`` lines, readable ``console`` output, or ``auto``: JSON in
            production, console elsewhere.
        bus_url: ``memory://`` for the embedded broker or ``amqp://user:pass@host/vhost``.
        bus_connect_timeout: Seconds that connecting to the broker may take at start-up
            before the service fails (a port that accepts TCP but never answers).
        cache_url: ``memory://`` for the embedded cache or ``redis://host:port/db``
            (``rediss://`` with TLS).
        shutdown_timeout: Seconds that in-flight work may take to finish on shutdown.
        health_host: The address the health endpoints listen on (``0.0.0.0`` in a
            container, so that the orchestrator's probes reach them).
        health_port: The port of ``/livez`` and ``/readyz``; ``None`` serves none (an API
            serves them on its own port instead).
        storage_url: The content store that services share: ``memory://`` (in the
            process), ``redis://host:port/db`` or ``file:///absolute/directory``.
        storage_max_size: The largest content the store takes, in bytes.
        storage_ttl: Seconds content lives when its put gives no TTL; ``None`` keeps it
            until it is deleted.
    """

    model_config = SettingsConfigDict(
        env_prefix="SVCKIT_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
        # Validation errors never echo a value: a URL may carry a password.
        hide_input_in_errors=True,
    )

    service_name: str = Field(default=DEFAULT_SERVICE_NAME, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    environment: Environment = Environment.DEVELOPMENT
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    bus_url: SecretStr = SecretStr("memory://")
    bus_connect_timeout: float = Field(default=10.0, gt=0)
    cache_url: SecretStr = SecretStr("memory://")
    shutdown_timeout: float = Field(default=25.0, gt=0)
    health_host: str = "127.0.0.1"
    health_port: int | None = Field(default=None, ge=0, le=65535)
    storage_url: SecretStr = SecretStr("memory://")
    storage_max_size: int = Field(default=20 * 1024 * 1024, ge=1)
    storage_ttl: float | None = Field(default=None, gt=0)

    @property
    def is_production(self) -> bool:
        """Whether the service runs in production."""
        return self.environment is Environment.PRODUCTION

    def env_name(self, field: str) -> str:
        """The environment variable that sets ``field``, for error messages and docs."""
        prefix = self.model_config.get("env_prefix") or ""
        info = type(self).model_fields[field]
        return (info.alias or f"{prefix}{field}").upper()

    @field_validator("bus_url")
    @classmethod
    def _check_bus_url(cls, value: SecretStr) -> SecretStr:
        _check_url(value.get_secret_value(), _BUS_SCHEMES, "bus")
        return value

    @field_validator("cache_url")
    @classmethod
    def _check_cache_url(cls, value: SecretStr) -> SecretStr:
        _check_url(value.get_secret_value(), _CACHE_SCHEMES, "cache")
        return value

    @field_validator("storage_url")
    @classmethod
    def _check_storage_url(cls, value: SecretStr) -> SecretStr:
        _check_url(value.get_secret_value(), _STORAGE_SCHEMES, "storage")
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> ServiceSettings:
        if not self.is_production:
            return self
        problems = [
            *self._default_name(),
            *self._embedded_backends(),
            *self._default_secrets(),
        ]
        if problems:
            # ConfigurationError is not a ValueError, so pydantic lets it through unwrapped.
            raise ConfigurationError(
                "refusing to start in production: " + "; ".join(problems),
            )
        return self

    def _default_name(self) -> list[str]:
        if self.service_name != DEFAULT_SERVICE_NAME:
            return []
        problem = (
            f"{self.env_name('service_name')} is the default {DEFAULT_SERVICE_NAME!r}; give "
            "each service its own name (it names the service's queues and cache namespace)"
        )
        return [problem]

    def _embedded_backends(self) -> list[str]:
        problems = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if isinstance(value, str) and _scheme(value) in EMBEDDED_SCHEMES:
                problems.append(
                    f"{self.env_name(name)} points at the embedded backend "
                    f"{_scheme(value)!r}; set it to a real server's URL",
                )
        return problems

    def _default_secrets(self) -> list[str]:
        problems = []
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            default = info.get_default(call_default_factory=True)
            if (
                isinstance(value, SecretStr)
                and isinstance(default, SecretStr)
                and value.get_secret_value() == default.get_secret_value()
                and _scheme(value.get_secret_value()) is None
            ):
                problems.append(f"{self.env_name(name)} is still the default secret; set it")
        return problems


def _check_url(url: str, schemes: dict[str, bool], what: str) -> None:
    """Refuse a URL that no backend reads; the message never shows more than the scheme."""
    expected = ", ".join(f"{scheme}://" for scheme in schemes)
    if "://" not in url:
        raise ValueError(f"not a {what} URL; use {expected}")
    scheme = url.partition("://")[0]
    if scheme not in schemes:
        shown = scheme if scheme.replace("+", "").replace("-", "").isalnum() else "?"
        raise ValueError(f"unsupported {what} URL scheme {shown!r}; use {expected}")
    parts = urlsplit(url)
    if schemes[scheme] and not parts.hostname:
        raise ValueError(f"the {scheme}:// {what} URL names no host")
    try:
        parts.port  # noqa: B018 - reading it validates it
    except ValueError:
        raise ValueError(f"the {scheme}:// {what} URL has an invalid port") from None


def describe_url(url: str) -> str:
    """``scheme://host:port/path`` of ``url``: what an operator needs, never a password.

    Example:
        >>> describe_url("amqp://guest:secret@rabbit:5672/prod")
        'amqp://rabbit:5672/prod'
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "an invalid URL"
    if ":" in host:
        host = f"[{host}]"
    where = f"{host}:{port}" if port is not None else host
    return f"{parts.scheme}://{where}{parts.path}"


def _scheme(value: str) -> str | None:
    if "://" not in value:
        return None
    return urlsplit(value).scheme.lower() or None
