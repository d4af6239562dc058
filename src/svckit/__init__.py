"""svckit: one chassis for async microservices.

The names below load on first use, so ``import svckit`` costs almost nothing and a
worker never imports what only an API needs. Kind-specific names live in their own
packages: `svckit.messaging`, `svckit.cache`, `svckit.worker`, `svckit.api`,
`svckit.bot` and `svckit.testing`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from svckit.core.errors import (
        CacheError,
        ConfigurationError,
        ContentTooLargeError,
        DecodeError,
        HandlerCancelledError,
        InvalidKeyError,
        LifecycleError,
        MessagingError,
        MissingExtraError,
        PublishError,
        StorageError,
        SvckitError,
        UnroutableError,
    )
    from svckit.core.health import CheckResult, Health, HealthReport, HealthStatus
    from svckit.core.logging import bind_context, configure_logging, get_logger
    from svckit.core.resource import Resource
    from svckit.core.retry import RetryPolicy
    from svckit.core.service import Service, ServiceState
    from svckit.core.settings import Environment, ServiceSettings
    from svckit.core.telemetry import (
        extract_context,
        get_meter,
        get_tracer,
        inject_context,
        start_span,
    )
    from svckit.core.work import DrainReport, InFlight, Intake

__version__ = "0.1.0.dev0"

_EXPORTS = {
    "CacheError": "svckit.core.errors",
    "CheckResult": "svckit.core.health",
    "ConfigurationError": "svckit.core.errors",
    "ContentTooLargeError": "svckit.core.errors",
    "DecodeError": "svckit.core.errors",
    "HandlerCancelledError": "svckit.core.errors",
    "DrainReport": "svckit.core.work",
    "Environment": "svckit.core.settings",
    "Health": "svckit.core.health",
    "HealthReport": "svckit.core.health",
    "HealthStatus": "svckit.core.health",
    "InFlight": "svckit.core.work",
    "InvalidKeyError": "svckit.core.errors",
    "Intake": "svckit.core.work",
    "LifecycleError": "svckit.core.errors",
    "MessagingError": "svckit.core.errors",
    "MissingExtraError": "svckit.core.errors",
    "PublishError": "svckit.core.errors",
    "Resource": "svckit.core.resource",
    "RetryPolicy": "svckit.core.retry",
    "Service": "svckit.core.service",
    "ServiceSettings": "svckit.core.settings",
    "ServiceState": "svckit.core.service",
    "StorageError": "svckit.core.errors",
    "SvckitError": "svckit.core.errors",
    "UnroutableError": "svckit.core.errors",
    "bind_context": "svckit.core.logging",
    "configure_logging": "svckit.core.logging",
    "extract_context": "svckit.core.telemetry",
    "get_logger": "svckit.core.logging",
    "get_meter": "svckit.core.telemetry",
    "get_tracer": "svckit.core.telemetry",
    "inject_context": "svckit.core.telemetry",
    "start_span": "svckit.core.telemetry",
}

__all__ = [  # noqa: RUF022 - sorted, with the version first
    "__version__",
    "CacheError",
    "CheckResult",
    "ConfigurationError",
    "ContentTooLargeError",
    "DecodeError",
    "DrainReport",
    "Environment",
    "HandlerCancelledError",
    "Health",
    "HealthReport",
    "HealthStatus",
    "InFlight",
    "Intake",
    "InvalidKeyError",
    "LifecycleError",
    "MessagingError",
    "MissingExtraError",
    "PublishError",
    "Resource",
    "RetryPolicy",
    "Service",
    "ServiceSettings",
    "ServiceState",
    "StorageError",
    "SvckitError",
    "UnroutableError",
    "bind_context",
    "configure_logging",
    "extract_context",
    "get_logger",
    "get_meter",
    "get_tracer",
    "inject_context",
    "start_span",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'svckit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public names next to the module's own."""
    return sorted({*globals(), *__all__})
