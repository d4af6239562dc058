"""The service lifecycle shared by every kind: resources, intakes, health and shutdown.

``async with service:`` opens the resources in declaration order, starts the intakes and
marks the service ready; leaving the block shuts it down in phases:

1. readiness goes false;
2. every intake stops taking new work;
3. in-flight work drains under ``settings.shutdown_timeout``, the rest is cut off and
   given back;
4. the resources close in reverse order;
5. one log line reports what was drained and what was cut off.

`Service.run` does the same until SIGTERM or SIGINT arrives; a second signal forces exit.
A signal while the service is still starting cancels the start-up: what was opened
closes, and the service ends STOPPED.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import sys
import time
from typing import TYPE_CHECKING, ClassVar, Self

from svckit.core.errors import ConfigurationError, LifecycleError
from svckit.core.health import CheckResult, Health, HealthReport, HealthStatus
from svckit.core.logging import get_logger
from svckit.core.settings import ServiceSettings
from svckit.core.work import DrainReport

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

    from svckit.core.resource import Resource
    from svckit.core.work import Intake

__all__ = ["Service", "ServiceState"]

_log = get_logger("svckit.service")

#: How long one resource's health check may take before it counts as down.
HEALTH_CHECK_TIMEOUT = 2.0


class ServiceState(enum.StrEnum):
    """Where a service is in its lifecycle."""

    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


class Service:
    """The base of every svckit service: resources + intakes, one lifecycle.

    Subclasses declare their settings class by annotation and their parts by overriding
    `resources` and `intakes`::

        class Reports(Service):
            settings: ReportSettings

            def __init__(self, settings: ReportSettings | None = None) -> None:
                super().__init__(settings)
                self.db = Database(self.settings.database_url)

            def resources(self) -> list[Resource]:
                return [*super().resources(), self.db]

    Attributes:
        settings: The service's settings, read from the environment unless given.
        state: Where the service is in its lifecycle.
    """

    settings: ServiceSettings
    #: Set this where the ``settings`` annotation cannot be resolved at run time.
    settings_class: ClassVar[type[ServiceSettings] | None] = None

    def __init__(self, settings: ServiceSettings | None = None) -> None:
        """Create the service; nothing is opened until it starts.

        Args:
            settings: The settings to use; by default the annotated settings class reads
                them from the environment and ``.env``.
        """
        self.settings = settings if settings is not None else self.resolve_settings_class()()
        self.state = ServiceState.NEW
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._started_intakes: list[Intake] = []
        self._stop_requested: asyncio.Event | None = None
        self._stop_reason = ""

    @property
    def name(self) -> str:
        """The service name, from ``settings.service_name``."""
        return self.settings.service_name

    @classmethod
    def resolve_settings_class(cls) -> type[ServiceSettings]:
        """The settings class named by the ``settings`` annotation (or ``settings_class``)."""
        for klass in cls.__mro__:
            explicit = klass.__dict__.get("settings_class")
            if explicit is not None:
                return explicit  # type: ignore[no-any-return]
            annotation = inspect.get_annotations(klass).get("settings")
            if annotation is None:
                continue
            if isinstance(annotation, str):
                namespace = vars(sys.modules[klass.__module__])
                try:
                    annotation = eval(annotation, namespace)  # noqa: S307 - a type annotation
                except NameError as exc:
                    raise ConfigurationError(
                        f"cannot resolve the settings annotation {annotation!r} of "
                        f"{klass.__qualname__}; define the class at module level, set "
                        "`settings_class`, or pass settings to the constructor",
                    ) from exc
            if isinstance(annotation, type) and issubclass(annotation, ServiceSettings):
                return annotation
        return ServiceSettings

    # ------------------------------------------------------------------ parts

    def resources(self) -> Sequence[Resource]:
        """The resources to open, in order; they close in reverse order.

        Override and extend ``super().resources()`` to add your own.
        """
        return []

    def intakes(self) -> Sequence[Intake]:
        """The parts that take work in, started in order after the resources."""
        return []

    # ------------------------------------------------------------------ lifecycle

    @property
    def ready(self) -> bool:
        """Whether the service is running (resource health aside: see `health_report`)."""
        return self.state is ServiceState.RUNNING

    async def __aenter__(self) -> Self:
        """Open the resources, start the intakes and mark the service ready."""
        if self.state is not ServiceState.NEW:
            raise LifecycleError(f"service {self.name!r} was already started ({self.state})")
        self.state = ServiceState.STARTING
        stack = contextlib.AsyncExitStack()
        try:
            for resource in self.resources():
                _log.debug("opening resource", resource=resource.name)
                try:
                    await stack.enter_async_context(resource)
                except Exception as exc:
                    exc.add_note(f"while opening {self.describe_resource(resource)}")
                    raise
            for intake in self.intakes():
                await intake.start()
                self._started_intakes.append(intake)
        except BaseException:
            self.state = ServiceState.FAILED
            await self._stop_intakes()
            await stack.aclose()
            raise
        self._exit_stack = stack
        self.state = ServiceState.RUNNING
        _log.info("service started", resources=len(self.resources()))
        return self

    def describe_resource(self, resource: Resource) -> str:
        """Name ``resource`` for an operator: ``resource 'bus' (amqp://host:5672/)``.

        Subclasses that know where a resource connects add it here; never a password.
        """
        return f"resource {resource.name!r}"

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Shut the service down in phases (see the module docs)."""
        await self.shutdown(reason=self._stop_reason or ("error" if exc else "exit"))

    async def shutdown(self, reason: str = "requested") -> DrainReport:
        """Stop intake, drain in-flight work, close the resources and report.

        Safe to call more than once; only the first call does the work. Safe to cancel:
        cancelling it during the drain cuts the work off, and the resources still close
        (in a ``finally``) before the cancellation goes on, so the service ends STOPPED.
        """
        if self.state is not ServiceState.RUNNING:
            return DrainReport()
        started = time.monotonic()
        self.state = ServiceState.STOPPING
        report = DrainReport()
        try:
            await self._stop_intakes()
            report = await self._drain()
        finally:
            await self._close_resources(reason, report, started)
        return report

    async def _drain(self) -> DrainReport:
        timeout = self.settings.shutdown_timeout
        results = await asyncio.gather(
            *(intake.drain(timeout) for intake in self._started_intakes),
            return_exceptions=True,
        )
        report = DrainReport()
        for intake, result in zip(self._started_intakes, results, strict=True):
            if isinstance(result, DrainReport):
                report += result
            elif isinstance(result, Exception):
                # One broken intake must not keep the resources open.
                _log.error("intake failed to drain", intake=intake.name, exc_info=result)
            else:
                raise result
        return report

    async def _close_resources(self, reason: str, report: DrainReport, started: float) -> None:
        stack, self._exit_stack = self._exit_stack, None
        try:
            if stack is not None:
                await stack.aclose()
        finally:
            self.state = ServiceState.STOPPED
            _log.info(
                "service stopped",
                reason=reason,
                drained=report.drained,
                cut_off=report.cut_off,
                duration_ms=round((time.monotonic() - started) * 1000, 1),
            )

    async def _stop_intakes(self) -> None:
        # Reverse order: the front stops before the consumers that feed it results.
        for intake in reversed(self._started_intakes):
            try:
                await intake.stop()
            except Exception:  # noqa: BLE001 - one broken intake must not stop the shutdown
                _log.exception("intake failed to stop", intake=intake.name)

    def request_stop(self, reason: str = "requested") -> None:
        """Ask a running `run` to shut down; safe from any task and idempotent."""
        if not self._stop_reason:
            self._stop_reason = reason
        self._stop_event().set()

    async def run(self, *, handle_signals: bool = True, serve_health: bool = True) -> None:
        """Configure logging, start the service and serve until a stop is requested.

        SIGTERM and SIGINT request a graceful shutdown; a second one forces exit at once
        (messages not yet acknowledged return to the broker when the connection drops).
        With ``settings.health_port`` set, ``/livez`` and ``/readyz`` are served there.

        Args:
            handle_signals: Install SIGTERM and SIGINT handlers on the running loop.
            serve_health: Serve the health endpoints on ``settings.health_port``.
        """
        from svckit.core.runner import serve  # noqa: PLC0415 - the runner builds on this module

        await serve([self], handle_signals=handle_signals, serve_health=serve_health)

    async def run_until_stopped(self) -> None:
        """Start the service, wait for `request_stop`, then shut down (no signal handling).

        A stop requested while the service is still starting (a broker that does not
        answer, say) cancels the start-up: what was opened closes, and this returns.
        """
        stop = self._stop_event()
        starting = asyncio.ensure_future(self.__aenter__())
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                await self._cancel_start_up(starting)
                return
            starting.result()  # a start-up that failed raises here
            await stop.wait()
        except BaseException as exc:
            if not starting.done():
                await self._cancel_start_up(starting)
            elif self.state is ServiceState.RUNNING:
                await self.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        else:
            await self.__aexit__(None, None, None)
        finally:
            stopped.cancel()

    async def _cancel_start_up(self, starting: asyncio.Future[Self]) -> None:
        starting.cancel()
        try:
            await starting
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # this task is being cancelled too, not only its start-up
        finally:
            if self.state is not ServiceState.RUNNING:
                self.state = ServiceState.STOPPED
                _log.warning(
                    "start-up cancelled; what was opened is closed",
                    reason=self._stop_reason or "cancelled",
                )
        if self.state is ServiceState.RUNNING:
            # The start-up finished just as it was cancelled: shut down the usual way.
            await self.shutdown(reason=self._stop_reason or "cancelled")

    def _stop_event(self) -> asyncio.Event:
        if self._stop_requested is None:
            self._stop_requested = asyncio.Event()
        return self._stop_requested

    # ------------------------------------------------------------------ health

    async def health_report(self) -> HealthReport:
        """Check every resource and say whether the service is live and ready."""
        resources = list(self.resources()) if self.state is ServiceState.RUNNING else []
        results = await asyncio.gather(*(_check(resource) for resource in resources))
        checks = {
            resource.name: CheckResult(status=health.status, detail=health.detail)
            for resource, health in zip(resources, results, strict=True)
        }
        worst = max((c.status for c in checks.values()), key=lambda s: s.rank, default=None)
        if self.state is not ServiceState.RUNNING:
            # Starting, stopping, stopped or failed: whatever the resources say, not up.
            worst = HealthStatus.DOWN
        return HealthReport(
            service=self.name,
            state=self.state.value,
            live=self.state is not ServiceState.FAILED,
            ready=self.ready and worst is not HealthStatus.DOWN,
            status=worst or HealthStatus.UP,
            checks=checks,
        )


async def _check(resource: Resource) -> Health:
    try:
        async with asyncio.timeout(HEALTH_CHECK_TIMEOUT):
            return await resource.health()
    except TimeoutError:
        return Health.down(f"health check took longer than {HEALTH_CHECK_TIMEOUT}s")
    except Exception as exc:  # noqa: BLE001 - any failure of a check means the resource is down
        # The type only: an exception message may carry a URL with credentials.
        return Health.down(f"health check failed: {type(exc).__name__}")
