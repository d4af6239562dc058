"""`ApiSettings`: where an API listens and whom it answers."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from svckit.core.errors import ConfigurationError
from svckit.core.settings import ServiceSettings

__all__ = ["ApiSettings"]


class ApiSettings(ServiceSettings):
    """Settings of an API: the base settings, with the HTTP server's and CORS's.

    Lists are read from the environment as JSON: ``SVCKIT_CORS_ORIGINS='["https://app.example"]'``.

    Attributes:
        http_host: The address the API listens on (``0.0.0.0`` in a container).
        http_port: The port the API listens on; ``/livez`` and ``/readyz`` are served there
            too. 0 picks a free one.
        cors_origins: Origins a browser may call the API from; empty turns CORS off.
        cors_allow_credentials: Whether those origins may send cookies and credentials.
            Production refuses it together with the ``*`` origin.
        trusted_hosts: ``Host`` headers the API answers (``api.example.com``,
            ``*.example.com``); ``*`` answers any. Others get a 400 problem.
        max_body_size: The largest request body read, in bytes (413 beyond).
    """

    model_config = SettingsConfigDict(env_prefix="SVCKIT_")

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    cors_origins: list[str] = Field(default_factory=list)
    cors_allow_credentials: bool = False
    trusted_hosts: list[str] = Field(default_factory=lambda: ["*"])
    max_body_size: int = Field(default=25 * 1024 * 1024, ge=0)

    @model_validator(mode="after")
    def _refuse_any_origin_with_credentials(self) -> ApiSettings:
        if self.is_production and self.cors_allow_credentials and "*" in self.cors_origins:
            raise ConfigurationError(
                "refusing to start in production: "
                f"{self.env_name('cors_origins')} allows any origin ('*') while "
                f"{self.env_name('cors_allow_credentials')} is on, so any site could call the "
                "API with its users' credentials; list the origins instead",
            )
        return self
