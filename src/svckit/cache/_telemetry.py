"""What the cache tells the outside world: metrics, and warnings that do not flood logs."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from svckit.core.logging import get_logger
from svckit.core.telemetry import counter, get_meter

if TYPE_CHECKING:
    from collections.abc import Callable

    from opentelemetry.metrics import Meter

    from svckit.core.errors import CacheError

__all__ = ["CacheTelemetry"]

_log = get_logger("svckit.cache")


class CacheTelemetry:
    """Counts hits, misses, errors and fail-open loads; warns of failures once per interval.

    Metrics (OpenTelemetry counters, each with the ``svckit.cache.namespace`` attribute):
    ``svckit.cache.hits``, ``svckit.cache.misses``, ``svckit.cache.errors`` (backend
    failures and undecodable values) and ``svckit.cache.fail_open`` (loads served without
    the cache because it failed).
    """

    def __init__(
        self,
        namespace: str,
        where: Callable[[], str],
        *,
        meter: Meter | None = None,
        warn_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create the instruments for one cache.

        Args:
            namespace: The cache's namespace, put on every data point.
            where: Says where the backend is, for log lines.
            meter: The OTel meter; by default ``svckit.core.telemetry.get_meter(namespace)``.
            warn_interval: Seconds between two warnings about a failing backend.
            clock: Seconds from any fixed point; tests pass a fake one.
        """
        meter = meter or get_meter(namespace)
        self.attributes = {"svckit.cache.namespace": namespace}
        self.hits = counter(
            meter, "svckit.cache.hits", unit="{lookup}", description="Lookups that found a value"
        )
        self.misses = counter(
            meter, "svckit.cache.misses", unit="{lookup}", description="Lookups that found none"
        )
        self.errors = counter(
            meter,
            "svckit.cache.errors",
            unit="{error}",
            description="Cache backend failures and cached values that could not be decoded",
        )
        self.fail_open = counter(
            meter,
            "svckit.cache.fail_open",
            unit="{load}",
            description="Loads served without the cache because the cache failed",
        )
        self._namespace = namespace
        self._where = where
        self._warn_interval = warn_interval
        self._clock = clock
        self._last_warning = -math.inf
        self._suppressed = 0
        #: True from a backend failure until the next success.
        self.failing = False

    def failed(self, exc: CacheError) -> None:
        """Count a backend failure; warn unless a warning went out within the interval."""
        self.errors.add(1, self.attributes)
        self.failing = True
        now = self._clock()
        if now - self._last_warning < self._warn_interval:
            self._suppressed += 1
            return
        _log.warning(
            "cache backend failing; reads fall through to their loaders",
            namespace=self._namespace,
            backend=self._where(),
            error=str(exc),
            suppressed=self._suppressed,
        )
        self._last_warning = now
        self._suppressed = 0

    def recovered(self) -> None:
        """Note that the backend answered again after failures."""
        self.failing = False
        _log.info("cache backend recovered", namespace=self._namespace, backend=self._where())

    def undecodable(self, key: str, type_name: str) -> None:
        """Count a cached value that no longer matches its type (for example, a new schema)."""
        self.errors.add(1, self.attributes)
        _log.warning(
            "dropping a cached value that does not match its type",
            namespace=self._namespace,
            key=key,
            type=type_name,
        )
