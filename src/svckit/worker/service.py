"""`WorkerService` and its settings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from svckit.chassis import ChassisService
from svckit.core.settings import ServiceSettings

__all__ = ["WorkerService", "WorkerSettings"]


class WorkerSettings(ServiceSettings):
    """Settings of a worker: the base settings, with the health port on by default.

    Attributes:
        health_port: ``/livez`` and ``/readyz`` are served here (8081 by default).
    """

    model_config = SettingsConfigDict(env_prefix="SVCKIT_")

    health_port: int | None = Field(default=8081, ge=0, le=65535)


class WorkerService(ChassisService):
    """A service made of consumers: no web front, only a health port.

    Declare consumers as methods marked with `consumer`, or list `ConsumerRouter` objects
    in ``routers``. Run it with ``svckit run module:Class`` or ``await Worker().run()``;
    test it on the embedded broker with `svckit.testing`.
    """

    settings: WorkerSettings
