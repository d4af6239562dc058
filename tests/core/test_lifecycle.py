"""Lifecycle edges: a stop during start-up, a cancelled shutdown, health when not running."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Self

import pytest
import structlog

from svckit import (
    DrainReport,
    Environment,
    Health,
    HealthStatus,
    InFlight,
    Service,
    ServiceSettings,
    ServiceState,
)
from svckit.core.logging import get_logger
from svckit.core.runner import serve

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from types import TracebackType

    from svckit import Intake, Resource

pytestmark = pytest.mark.timeout(30)


class Part:
    """A resource that records its opening and closing; it may hang while it opens."""

    def __init__(
        self, name: str, events: list[str], *, hang: bool = False, fail: bool = False
    ) -> None:
        self.name = name
        self.events = events
        self.hang = hang
        self.fail = fail
        self.opening = asyncio.Event()

    async def __aenter__(self) -> Self:
        self.events.append(f"open {self.name}")
        self.opening.set()
        if self.fail:
            raise ConnectionRefusedError(f"{self.name} refused the connection")
        if self.hang:
            try:
                await asyncio.Event().wait()  # a broker that accepts TCP and never answers
            except asyncio.CancelledError:
                self.events.append(f"open {self.name} cancelled")
                raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.events.append(f"close {self.name}")

    async def health(self) -> Health:
        return Health.up()


class StuckJob:
    """An intake with one job that never ends, so the drain lasts its whole timeout."""

    name = "stuck"

    def __init__(self) -> None:
        self.work = InFlight()
        self.running = asyncio.Event()
        self.draining = asyncio.Event()
        self.cut_off = asyncio.Event()

    async def start(self) -> None:
        self.work.spawn(self._job())

    async def stop(self) -> None:
        pass

    async def drain(self, timeout: float) -> DrainReport:
        self.draining.set()
        return await self.work.drain(timeout)

    async def _job(self) -> None:
        self.running.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cut_off.set()
            raise


class Parts(Service):
    def __init__(
        self,
        resources: Sequence[Resource] = (),
        intakes: Sequence[Intake] = (),
        *,
        name: str = "parts",
    ) -> None:
        super().__init__(
            ServiceSettings(
                service_name=name,
                environment=Environment.TEST,
                shutdown_timeout=3600,
                log_format="json",
            )
        )
        self._resources = list(resources)
        self._intakes = list(intakes)

    def resources(self) -> Sequence[Resource]:
        return self._resources

    def intakes(self) -> Sequence[Intake]:
        return self._intakes


def state(service: Service) -> ServiceState:
    return service.state


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo the process-wide logging set-up that `serve` performs."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    structlog.configure(**saved)
    structlog.contextvars.clear_contextvars()


# ------------------------------------------------------------------ start-up


async def test_a_stop_during_start_up_cancels_it_and_closes_what_was_opened() -> None:
    events: list[str] = []
    hanging = Part("bus", events, hang=True)
    service = Parts([Part("cache", events), hanging])

    running = asyncio.create_task(service.run_until_stopped())
    await hanging.opening.wait()
    assert state(service) is ServiceState.STARTING
    service.request_stop("signal SIGTERM")
    await running  # returns: a stop during start-up is not a failure

    assert events == ["open cache", "open bus", "open bus cancelled", "close cache"]
    assert state(service) is ServiceState.STOPPED
    report = await service.health_report()
    assert (report.ready, report.status) == (False, HealthStatus.DOWN)


async def test_cancelling_a_run_during_start_up_closes_what_was_opened_and_raises() -> None:
    events: list[str] = []
    hanging = Part("bus", events, hang=True)
    service = Parts([Part("cache", events), hanging])

    running = asyncio.create_task(service.run_until_stopped())
    await hanging.opening.wait()
    running.cancel()

    with pytest.raises(asyncio.CancelledError):
        await running
    assert events == ["open cache", "open bus", "open bus cancelled", "close cache"]


async def test_a_stop_requested_once_started_shuts_down_as_before() -> None:
    events: list[str] = []
    service = Parts([Part("cache", events)])

    running = asyncio.create_task(service.run_until_stopped())
    while state(service) is not ServiceState.RUNNING:  # noqa: ASYNC110 - one turn or two
        await asyncio.sleep(0)
    service.request_stop()
    await running

    assert events == ["open cache", "close cache"]
    assert state(service) is ServiceState.STOPPED


# ------------------------------------------------------------------ shutdown


async def test_cancelling_shutdown_during_the_drain_still_closes_the_resources() -> None:
    events: list[str] = []
    job = StuckJob()
    service = Parts([Part("bus", events)], [job])
    await service.__aenter__()
    await job.running.wait()

    shutdown = asyncio.create_task(service.shutdown())
    await job.draining.wait()
    shutdown.cancel()

    with pytest.raises(asyncio.CancelledError):
        await shutdown
    assert job.cut_off.is_set()
    assert events == ["open bus", "close bus"]
    assert state(service) is ServiceState.STOPPED
    # A second call has nothing left to do, and says so without error.
    assert await service.shutdown() == DrainReport()
    assert events.count("close bus") == 1


# ------------------------------------------------------------------ health


async def test_a_stopping_service_never_reports_up() -> None:
    job = StuckJob()
    service = Parts([Part("bus", [])], [job])
    await service.__aenter__()
    await job.running.wait()
    shutdown = asyncio.create_task(service.shutdown())
    await job.draining.wait()

    report = await service.health_report()

    assert (report.state, report.status, report.ready) == ("stopping", HealthStatus.DOWN, False)
    shutdown.cancel()
    with pytest.raises(asyncio.CancelledError):
        await shutdown


async def test_a_stopped_service_never_reports_up() -> None:
    service = Parts([Part("bus", [])])
    async with service:
        pass

    report = await service.health_report()

    assert (report.state, report.status, report.ready) == ("stopped", HealthStatus.DOWN, False)


async def test_a_failed_service_never_reports_up() -> None:
    service = Parts([Part("bus", [], fail=True)])
    with pytest.raises(ConnectionRefusedError):
        await service.__aenter__()

    report = await service.health_report()

    assert (report.state, report.status, report.ready) == ("failed", HealthStatus.DOWN, False)


# ------------------------------------------------------------------ several services


class Talker(Parts):
    """Logs one line from its own task once started, then waits for the stop."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name)
        self.said = asyncio.Event()

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        get_logger("tests.talker").info("hello from a service")
        self.said.set()
        return self


@pytest.mark.usefixtures("restore_logging")
async def test_each_service_in_one_process_logs_under_its_own_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = Talker("first"), Talker("second")

    running = asyncio.create_task(serve([first, second], handle_signals=False))
    await first.said.wait()
    await second.said.wait()
    first.request_stop()
    second.request_stop()
    await running

    logs = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    hello = sorted(e["service"] for e in logs if e["event"] == "hello from a service")
    assert hello == ["first", "second"]
    stopped = sorted(e["service"] for e in logs if e["event"] == "service stopped")
    assert stopped == ["first", "second"]
