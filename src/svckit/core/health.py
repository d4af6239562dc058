"""Health: what each resource reports, and the liveness and readiness of a service.

Every kind exposes the same `HealthReport` over HTTP: ``/livez`` answers whether the
process should be restarted, ``/readyz`` whether it should be sent work.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

__all__ = ["Health", "HealthReport", "HealthStatus"]


class HealthStatus(enum.StrEnum):
    """How well a resource or a service works, from best to worst."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"

    @property
    def rank(self) -> int:
        """Orders statuses from best (0) to worst."""
        return _RANK[self]


_RANK = {HealthStatus.UP: 0, HealthStatus.DEGRADED: 1, HealthStatus.DOWN: 2}


@dataclass(frozen=True, slots=True)
class Health:
    """What one resource says of itself.

    A degraded resource still serves (a cache that fails open, for example); a resource
    that is down makes its service not ready.
    """

    status: HealthStatus
    detail: str = ""

    @classmethod
    def up(cls, detail: str = "") -> Health:
        """The resource works."""
        return cls(HealthStatus.UP, detail)

    @classmethod
    def degraded(cls, detail: str) -> Health:
        """The resource serves, but worse than it should."""
        return cls(HealthStatus.DEGRADED, detail)

    @classmethod
    def down(cls, detail: str) -> Health:
        """The resource does not work."""
        return cls(HealthStatus.DOWN, detail)


class CheckResult(BaseModel):
    """One resource's line in a `HealthReport`."""

    model_config = ConfigDict(frozen=True)

    status: HealthStatus
    detail: str = ""


class HealthReport(BaseModel):
    """The liveness and readiness of a service, as every kind serves it.

    Attributes:
        service: The service name.
        state: The lifecycle state (``starting``, ``running``, ``stopping``...).
        live: False only when the process is beyond repair and should be restarted.
        ready: True when the service is running and none of its resources is down.
        status: The worst status among the checks (``up`` when there are none).
        checks: Each resource's status, by resource name.
    """

    model_config = ConfigDict(frozen=True)

    service: str
    state: str
    live: bool
    ready: bool
    status: HealthStatus
    checks: dict[str, CheckResult]
