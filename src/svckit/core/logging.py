"""Structured logs: structlog configured once per process.

Minimal first version; see the module's full docs once redaction lands.
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from collections.abc import Iterator

    from svckit.core.settings import ServiceSettings

__all__ = ["bind_context", "configure_logging", "get_logger"]


def configure_logging(settings: ServiceSettings) -> None:
    """Configure structlog and the standard library's logging for this process."""
    fmt = settings.log_format
    if fmt == "auto":
        fmt = "json" if settings.is_production else "console"
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[settings.log_level],
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=settings.service_name)


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; safe to create at import time, before configuration."""
    return structlog.get_logger(name)


@contextmanager
def bind_context(**values: Any) -> Iterator[None]:
    """Bind values (request id, message id...) to every log line inside the block."""
    with structlog.contextvars.bound_contextvars(**values):
        yield
