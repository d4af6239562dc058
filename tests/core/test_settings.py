"""Settings: prefixes, .env files, secrets, and the refusals of production."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from svckit import ConfigurationError, Environment, ServiceSettings
from svckit.core.settings import describe_url

if TYPE_CHECKING:
    from pathlib import Path

JWT_DEFAULT = "dev-only-jwt-secret-value"
JWT_REAL = "s3cr3t-from-the-vault"
AMQP_URL = "amqp://svc:amqp-pass-123@rabbit.internal:5672/users"
REDIS_URL = "redis://:redis-pass-456@redis.internal:6379/0"


class UsersSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="USERS_")

    jwt_secret: SecretStr = SecretStr(JWT_DEFAULT)
    page_size: int = 20


class BillingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No variable from the developer's shell and no stray .env may decide a test.
    for prefix in ("SVCKIT_", "USERS_", "BILLING_"):
        for name in list(os.environ):
            if name.startswith(prefix):
                monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_embedded_backends() -> None:
    settings = ServiceSettings()

    assert settings.environment is Environment.DEVELOPMENT
    assert settings.bus_url.get_secret_value() == "memory://"
    assert settings.cache_url.get_secret_value() == "memory://"
    assert settings.shutdown_timeout > 0


def test_base_settings_read_the_svckit_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVCKIT_SERVICE_NAME", "reports")
    monkeypatch.setenv("SVCKIT_SHUTDOWN_TIMEOUT", "2.5")

    settings = ServiceSettings()

    assert settings.service_name == "reports"
    assert settings.shutdown_timeout == 2.5


def test_each_subclass_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USERS_SERVICE_NAME", "users")
    monkeypatch.setenv("USERS_PAGE_SIZE", "50")
    monkeypatch.setenv("BILLING_SERVICE_NAME", "billing")
    monkeypatch.setenv("SVCKIT_SERVICE_NAME", "not-for-subclasses")

    users = UsersSettings()
    billing = BillingSettings()

    assert users.service_name == "users"
    assert users.page_size == 50
    assert billing.service_name == "billing"


def test_subclass_keeps_the_base_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    # Setting env_prefix must not drop .env support or the tolerance of unknown variables.
    monkeypatch.setenv("USERS_SOMETHING_ELSE", "ignored")

    assert UsersSettings.model_config.get("env_file") == ".env"
    assert UsersSettings().page_size == 20


def test_env_name_follows_the_prefix() -> None:
    assert UsersSettings().env_name("bus_url") == "USERS_BUS_URL"
    assert ServiceSettings().env_name("bus_url") == "SVCKIT_BUS_URL"


def test_dotenv_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "USERS_SERVICE_NAME=users-from-dotenv\nUSERS_LOG_LEVEL=DEBUG\n", encoding="utf-8"
    )

    settings = UsersSettings()

    assert settings.service_name == "users-from-dotenv"
    assert settings.log_level == "DEBUG"


def test_environment_variables_win_over_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("USERS_PAGE_SIZE=10\n", encoding="utf-8")
    monkeypatch.setenv("USERS_PAGE_SIZE", "30")

    assert UsersSettings().page_size == 30


def test_constructor_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USERS_PAGE_SIZE", "30")

    assert UsersSettings(page_size=5).page_size == 5


def test_secrets_do_not_show_in_repr_or_str(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USERS_JWT_SECRET", JWT_REAL)
    monkeypatch.setenv("USERS_BUS_URL", AMQP_URL)

    settings = UsersSettings()

    for text in (repr(settings), str(settings), repr(settings.model_dump())):
        assert JWT_REAL not in text
        assert "amqp-pass-123" not in text
    assert settings.jwt_secret.get_secret_value() == JWT_REAL


def test_invalid_values_are_refused() -> None:
    with pytest.raises(ValidationError):
        ServiceSettings(shutdown_timeout=0)
    with pytest.raises(ValidationError):
        ServiceSettings(service_name="has spaces")
    with pytest.raises(ValidationError):
        ServiceSettings(environment="staging")


def test_production_refuses_embedded_backends_and_default_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("USERS_ENVIRONMENT", "production")

    with pytest.raises(ConfigurationError) as caught:
        UsersSettings()

    message = str(caught.value)
    for variable in ("USERS_BUS_URL", "USERS_CACHE_URL", "USERS_STORAGE_URL", "USERS_JWT_SECRET"):
        assert variable in message
    assert JWT_DEFAULT not in message


def test_production_names_only_what_is_still_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USERS_ENVIRONMENT", "production")
    monkeypatch.setenv("USERS_BUS_URL", AMQP_URL)
    monkeypatch.setenv("USERS_CACHE_URL", "memory://")

    with pytest.raises(ConfigurationError) as caught:
        UsersSettings()

    message = str(caught.value)
    assert "USERS_CACHE_URL" in message
    assert "USERS_JWT_SECRET" in message
    assert "USERS_BUS_URL" not in message
    assert "amqp-pass-123" not in message
    assert JWT_DEFAULT not in message


def test_production_refusal_message_never_carries_a_secret() -> None:
    # A secret set to an embedded URL still must not be echoed back with its credentials.
    with pytest.raises(ConfigurationError) as caught:
        UsersSettings(
            environment=Environment.PRODUCTION,
            jwt_secret=SecretStr(JWT_REAL),
            bus_url=SecretStr("memory://admin:hunter2@localhost"),
            cache_url=SecretStr(REDIS_URL),
        )

    message = str(caught.value)
    assert "USERS_BUS_URL" in message
    assert "hunter2" not in message
    assert "redis-pass-456" not in message
    assert JWT_REAL not in message


def test_production_starts_with_real_backends_and_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USERS_ENVIRONMENT", "production")
    monkeypatch.setenv("USERS_SERVICE_NAME", "users")
    monkeypatch.setenv("USERS_BUS_URL", AMQP_URL)
    monkeypatch.setenv("USERS_CACHE_URL", REDIS_URL)
    monkeypatch.setenv("USERS_STORAGE_URL", REDIS_URL)
    monkeypatch.setenv("USERS_JWT_SECRET", JWT_REAL)

    settings = UsersSettings()

    assert settings.is_production


def test_production_refusal_is_a_svckit_error_not_a_validation_error() -> None:
    # Callers catch ConfigurationError (or SvckitError); pydantic must not wrap it.
    with pytest.raises(ConfigurationError):
        ServiceSettings(environment=Environment.PRODUCTION)


@pytest.mark.parametrize("environment", ["development", "test"])
def test_other_environments_accept_embedded_backends_and_default_secrets(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    monkeypatch.setenv("USERS_ENVIRONMENT", environment)

    settings = UsersSettings()

    assert settings.environment == environment
    assert not settings.is_production
    assert settings.bus_url.get_secret_value() == "memory://"


def test_production_refuses_the_default_service_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two services left at the default would share queues and a cache namespace.
    monkeypatch.setenv("USERS_ENVIRONMENT", "production")
    monkeypatch.setenv("USERS_BUS_URL", AMQP_URL)
    monkeypatch.setenv("USERS_CACHE_URL", REDIS_URL)
    monkeypatch.setenv("USERS_STORAGE_URL", REDIS_URL)
    monkeypatch.setenv("USERS_JWT_SECRET", JWT_REAL)

    with pytest.raises(ConfigurationError, match="USERS_SERVICE_NAME is the default 'svckit'"):
        UsersSettings()

    monkeypatch.setenv("USERS_SERVICE_NAME", "users")
    assert UsersSettings().service_name == "users"


def test_a_subclass_default_name_is_accepted_in_production() -> None:
    class Named(ServiceSettings):
        service_name: str = "billing"

    settings = Named(
        environment=Environment.PRODUCTION,
        bus_url=SecretStr(AMQP_URL),
        cache_url=SecretStr(REDIS_URL),
        storage_url=SecretStr(REDIS_URL),
    )
    assert settings.service_name == "billing"


@pytest.mark.parametrize(
    ("field", "url", "message"),
    [
        ("bus_url", "rabbit://svc:hunter2@rabbit.internal/", "unsupported bus URL scheme 'rabbit'"),
        ("bus_url", "svc:hunter2@rabbit.internal", "not a bus URL"),
        ("bus_url", "AMQP://svc:hunter2@rabbit.internal/", "unsupported bus URL scheme 'AMQP'"),
        ("bus_url", "amqp://svc:hunter2@/vhost", "names no host"),
        ("bus_url", "amqp://svc:hunter2@rabbit.internal:99999/", "invalid port"),
        ("cache_url", "memcached://:hunter2@cache.internal", "unsupported cache URL scheme"),
        ("cache_url", "redis://:hunter2@cache.internal:port/0", "invalid port"),
        ("storage_url", "s3://key:hunter2@bucket", "unsupported storage URL scheme 's3'"),
    ],
)
def test_a_url_no_backend_reads_fails_validation_without_echoing_it(
    field: str, url: str, message: str
) -> None:
    options: dict[str, Any] = {field: SecretStr(url)}
    with pytest.raises(ValidationError) as caught:
        ServiceSettings(**options)

    text = str(caught.value)
    assert message in text
    assert field in text
    assert "hunter2" not in text
    assert "rabbit.internal" not in text
    assert "cache.internal" not in text


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("bus_url", "memory://"),
        ("bus_url", "memory://tests"),
        ("bus_url", "amqp://guest:guest@127.0.0.1:5672/"),
        ("bus_url", "amqps://rabbit.internal/prod"),
        ("cache_url", "memory://?max_size=10"),
        ("cache_url", "redis://127.0.0.1:6379/0"),
        ("cache_url", "rediss://:pw@[::1]:6380"),
    ],
)
def test_urls_a_backend_reads_are_accepted(field: str, url: str) -> None:
    options: dict[str, Any] = {field: SecretStr(url)}
    settings = ServiceSettings(**options)
    assert getattr(settings, field).get_secret_value() == url


def test_the_broker_connect_timeout_is_a_positive_number_of_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert ServiceSettings().bus_connect_timeout == 10
    monkeypatch.setenv("SVCKIT_BUS_CONNECT_TIMEOUT", "2.5")
    assert ServiceSettings().bus_connect_timeout == 2.5
    with pytest.raises(ValidationError):
        ServiceSettings(bus_connect_timeout=0)


def test_describe_url_keeps_scheme_host_port_and_path_only() -> None:
    assert describe_url("amqp://guest:hunter2@rabbit:5672/prod") == "amqp://rabbit:5672/prod"
    assert describe_url("redis://:hunter2@[::1]/0") == "redis://[::1]/0"
    assert describe_url("memory://") == "memory://"
    assert "hunter2" not in describe_url("amqp://u:hunter2@host:notaport/")
