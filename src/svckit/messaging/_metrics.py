"""The bus's metrics and tracer, created once per bus."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from svckit.core.telemetry import counter, get_meter, get_tracer, histogram, tracing_enabled

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, Histogram, MeterProvider
    from opentelemetry.trace import Tracer, TracerProvider


class BusTelemetry:
    """Counters, the handler-duration histogram and the tracer of one bus."""

    __slots__ = (
        "_check_at",
        "_tracer_provider",
        "_tracing",
        "dead_lettered",
        "duration",
        "failed",
        "processed",
        "published",
        "retried",
        "skipped",
        "tracer",
    )

    def __init__(
        self,
        service: str,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        """Create the instruments for ``service`` (on the global providers by default)."""
        meter = get_meter(service, meter_provider=meter_provider)
        self.tracer: Tracer = get_tracer(service, tracer_provider=tracer_provider)
        self._tracer_provider = tracer_provider
        self._tracing = tracing_enabled(tracer_provider)
        self._check_at = time.monotonic() + 1.0
        self.published: Counter = counter(
            meter, "svckit.messages.published", unit="{message}", description="Messages published"
        )
        self.processed: Counter = counter(
            meter, "svckit.messages.processed", unit="{message}", description="Handled successfully"
        )
        self.failed: Counter = counter(
            meter, "svckit.messages.failed", unit="{message}", description="Handler failures"
        )
        self.retried: Counter = counter(
            meter, "svckit.messages.retried", unit="{message}", description="Sent to a delay queue"
        )
        self.dead_lettered: Counter = counter(
            meter,
            "svckit.messages.dead_lettered",
            unit="{message}",
            description="Sent to a dead-letter queue",
        )
        self.skipped: Counter = counter(
            meter,
            "svckit.messages.skipped",
            unit="{message}",
            description="Duplicates skipped by the idempotency inbox",
        )
        self.duration: Histogram = histogram(
            meter,
            "svckit.handler.duration",
            unit="s",
            description="Time a handler took",
        )

    @property
    def tracing(self) -> bool:
        """Whether spans are recorded.

        A global provider may be set after the bus was made, so the answer is looked up
        again at most once a second until it is yes (a provider, once set, stays).
        """
        if self._tracing:
            return True
        now = time.monotonic()
        if now >= self._check_at:
            self._tracing = tracing_enabled(self._tracer_provider)
            self._check_at = now + 1.0
        return self._tracing
