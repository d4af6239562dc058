"""The service lifecycle: resources, intakes, shutdown in phases, drain, and health."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import pytest
import structlog
from pydantic_settings import SettingsConfigDict
from structlog.testing import capture_logs

from svckit import (
    DrainReport,
    Environment,
    Health,
    HealthStatus,
    InFlight,
    LifecycleError,
    Service,
    ServiceSettings,
    ServiceState,
)
from svckit.core import service as service_module

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
    from types import TracebackType

    from svckit import Intake, Resource

# ------------------------------------------------------------------ parts that record


class Part:
    """A resource that writes what happens to it into a shared list of events."""

    def __init__(
        self,
        name: str,
        events: list[str],
        *,
        fail_open: BaseException | None = None,
        health: Callable[[], Awaitable[Health]] | None = None,
    ) -> None:
        self.name = name
        self.events = events
        self.fail_open = fail_open
        self._health = health

    async def __aenter__(self) -> Self:
        self.events.append(f"open {self.name}")
        if self.fail_open is not None:
            raise self.fail_open
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.events.append(f"close {self.name}")

    async def health(self) -> Health:
        if self._health is not None:
            return await self._health()
        return Health.up()


class Jobs:
    """An intake that runs jobs on an `InFlight` and records its lifecycle."""

    def __init__(
        self, name: str, events: list[str], *, fail_start: BaseException | None = None
    ) -> None:
        self.name = name
        self.events = events
        self.fail_start = fail_start
        self.work = InFlight()
        self.started = asyncio.Event()
        self.stopping = asyncio.Event()
        self.ready_when_stopped: bool | None = None
        self.service: Service | None = None

    async def start(self) -> None:
        self.events.append(f"start {self.name}")
        if self.fail_start is not None:
            raise self.fail_start
        self.started.set()

    async def stop(self) -> None:
        self.events.append(f"stop {self.name}")
        if self.service is not None:
            self.ready_when_stopped = (await self.service.health_report()).ready
        self.stopping.set()

    async def drain(self, timeout: float) -> DrainReport:
        self.events.append(f"drain {self.name}")
        return await self.work.drain(timeout)


class Harness(Service):
    """A service made of the parts a test hands it."""

    def __init__(
        self,
        resources: Sequence[Resource] = (),
        intakes: Sequence[Intake] = (),
        *,
        shutdown_timeout: float = 10.0,
    ) -> None:
        super().__init__(
            ServiceSettings(
                service_name="harness",
                environment=Environment.TEST,
                shutdown_timeout=shutdown_timeout,
                # run() configures logging: JSON lines let the tests read them back.
                log_format="json",
            )
        )
        self._resources = list(resources)
        self._intakes = list(intakes)
        for intake in self._intakes:
            if isinstance(intake, Jobs):
                intake.service = self

    def resources(self) -> Sequence[Resource]:
        return [*super().resources(), *self._resources]

    def intakes(self) -> Sequence[Intake]:
        return [*super().intakes(), *self._intakes]


def state(service: Service) -> ServiceState:
    """Read the state afresh (mypy would otherwise keep its narrowing from an earlier assert)."""
    return service.state


def stopped_line(logs: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    lines = [entry for entry in logs if entry["event"] == "service stopped"]
    assert len(lines) == 1, logs
    return lines[0]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo the process-wide logging set-up that `Service.run` performs."""
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


# ------------------------------------------------------------------ resources


async def test_resources_open_in_declaration_order_and_close_in_reverse() -> None:
    events: list[str] = []
    service = Harness([Part("bus", events), Part("cache", events), Part("db", events)])

    async with service:
        assert events == ["open bus", "open cache", "open db"]
        assert state(service) is ServiceState.RUNNING

    assert events == ["open bus", "open cache", "open db", "close db", "close cache", "close bus"]
    assert state(service) is ServiceState.STOPPED


async def test_a_resource_that_fails_to_open_still_closes_the_ones_before_it() -> None:
    events: list[str] = []
    service = Harness(
        [
            Part("bus", events),
            Part("cache", events, fail_open=ConnectionRefusedError("cache is down")),
            Part("db", events),
        ],
        [Jobs("consumer", events)],
    )

    with pytest.raises(ConnectionRefusedError, match="cache is down"):
        async with service:
            pytest.fail("the block must not run when a resource fails to open")

    # The third resource is never opened and no intake starts.
    assert events == ["open bus", "open cache", "close bus"]
    assert state(service) is ServiceState.FAILED
    assert not service.ready


async def test_a_failed_start_reports_the_service_not_live() -> None:
    service = Harness([Part("bus", [], fail_open=OSError("no broker"))])

    with pytest.raises(OSError, match="no broker"):
        await service.__aenter__()

    report = await service.health_report()
    assert not report.live
    assert not report.ready


# ------------------------------------------------------------------ intakes


async def test_intakes_start_after_resources_and_stop_before_they_close() -> None:
    events: list[str] = []
    service = Harness(
        [Part("bus", events), Part("cache", events)],
        [Jobs("consumer", events), Jobs("http", events)],
    )

    async with service:
        assert events == ["open bus", "open cache", "start consumer", "start http"]
    shutdown = events[4:]

    # The front stops before the consumers that feed it, all stop before any drain,
    # and the resources close only once the work has drained.
    assert shutdown[:2] == ["stop http", "stop consumer"]
    assert sorted(shutdown[2:4]) == ["drain consumer", "drain http"]
    assert shutdown[4:] == ["close cache", "close bus"]


async def test_an_intake_that_fails_to_start_stops_the_others_and_closes_resources() -> None:
    events: list[str] = []
    service = Harness(
        [Part("bus", events)],
        [Jobs("consumer", events), Jobs("http", events, fail_start=OSError("port in use"))],
    )

    with pytest.raises(OSError, match="port in use"):
        async with service:
            pytest.fail("the block must not run when an intake fails to start")

    assert events == ["open bus", "start consumer", "start http", "stop consumer", "close bus"]
    assert state(service) is ServiceState.FAILED


async def test_an_intake_that_fails_to_stop_does_not_stop_the_shutdown() -> None:
    events: list[str] = []

    class Broken(Jobs):
        async def stop(self) -> None:
            await super().stop()
            raise RuntimeError("stop failed")

    service = Harness([Part("bus", events)], [Jobs("consumer", events), Broken("http", events)])

    async with service:
        pass

    assert "stop consumer" in events
    assert events[-1] == "close bus"
    assert state(service) is ServiceState.STOPPED


async def test_an_intake_that_fails_to_drain_does_not_keep_the_resources_open() -> None:
    events: list[str] = []

    class Broken(Jobs):
        async def drain(self, timeout: float) -> DrainReport:
            await super().drain(timeout)
            raise RuntimeError("drain failed")

    consumer = Jobs("consumer", events)
    service = Harness([Part("bus", events)], [consumer, Broken("http", events)])

    async def job() -> None:
        await consumer.stopping.wait()

    with capture_logs() as logs:
        async with service:
            consumer.work.spawn(job())

    assert events[-1] == "close bus"
    assert state(service) is ServiceState.STOPPED
    # The other intake's work still counts.
    assert stopped_line(logs)["drained"] == 1
    failed = [entry for entry in logs if entry["event"] == "intake failed to drain"]
    assert [entry["intake"] for entry in failed] == ["http"]


# ------------------------------------------------------------------ the lifecycle forms


async def test_starting_twice_is_refused() -> None:
    service = Harness([Part("bus", [])])

    async with service:
        with pytest.raises(LifecycleError, match="already started"):
            await service.__aenter__()
        # The refused second start left the running service alone.
        assert state(service) is ServiceState.RUNNING

    with pytest.raises(LifecycleError, match="already started"):
        async with service:
            pytest.fail("a stopped service must not start again")


async def test_shutdown_is_idempotent() -> None:
    events: list[str] = []
    service = Harness([Part("bus", events)])

    async with service:
        first = await service.shutdown()
        second = await service.shutdown()

    assert first == second == DrainReport()
    assert events.count("close bus") == 1


@pytest.mark.usefixtures("restore_logging")
async def test_run_serves_until_a_stop_is_requested(capsys: pytest.CaptureFixture[str]) -> None:
    events: list[str] = []
    jobs = Jobs("consumer", events)
    service = Harness([Part("bus", events)], [jobs])

    running = asyncio.create_task(service.run(handle_signals=False))
    # The intake starts last; once it has, nothing is left between it and RUNNING.
    await jobs.started.wait()
    assert service.ready
    service.request_stop("test over")
    await running

    assert events == ["open bus", "start consumer", "stop consumer", "drain consumer", "close bus"]
    assert state(service) is ServiceState.STOPPED
    # run() configured the process's logging: the report is a JSON line on stderr.
    logs = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    line = stopped_line(logs)
    assert (line["reason"], line["drained"], line["cut_off"]) == ("test over", 0, 0)
    assert line["service"] == "harness"


@pytest.mark.usefixtures("restore_logging")
async def test_run_and_async_with_give_the_same_lifecycle() -> None:
    def build(events: list[str]) -> Harness:
        return Harness([Part("a", events), Part("b", events)], [Jobs("in", events)])

    with_block: list[str] = []
    async with build(with_block):
        pass

    with_run: list[str] = []
    service = build(with_run)
    running = asyncio.create_task(service.run(handle_signals=False))
    intake = service.intakes()[0]
    assert isinstance(intake, Jobs)
    await intake.started.wait()
    service.request_stop()
    await running

    assert with_run == with_block


# ------------------------------------------------------------------ drain


async def test_work_in_flight_when_shutdown_begins_finishes_and_counts_as_drained() -> None:
    events: list[str] = []
    jobs = Jobs("consumer", events)
    service = Harness([Part("bus", events)], [jobs])

    async def job() -> None:
        # The job is still running when shutdown begins: it ends only once intake stopped.
        await jobs.stopping.wait()
        events.append("job done")

    async with service:
        jobs.work.spawn(job())
        report = await service.shutdown()

    assert report == DrainReport(drained=1, cut_off=0)
    # It finished while its resource was still open.
    assert events.index("stop consumer") < events.index("job done") < events.index("close bus")


async def test_readiness_goes_false_before_intake_stops() -> None:
    jobs = Jobs("consumer", [])
    service = Harness([Part("bus", [])], [jobs])

    async with service:
        assert (await service.health_report()).ready

    assert jobs.ready_when_stopped is False


async def test_work_longer_than_the_shutdown_timeout_is_cut_off() -> None:
    events: list[str] = []
    jobs = Jobs("consumer", events)
    service = Harness([Part("bus", events)], [jobs], shutdown_timeout=0.05)
    outcome: list[str] = []

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    async with service:
        jobs.work.spawn(stuck())
        report = await service.shutdown()

    assert report == DrainReport(drained=0, cut_off=1)
    # The cut-off job's clean-up ran before the resources closed.
    assert outcome == ["cancelled"]
    assert events[-1] == "close bus"
    assert len(jobs.work) == 0


async def test_shutdown_log_line_reports_drained_and_cut_off() -> None:
    first, second = Jobs("consumer", []), Jobs("http", [])
    service = Harness([Part("bus", [])], [first, second], shutdown_timeout=0.1)

    async def quick(intake: Jobs) -> None:
        await intake.stopping.wait()

    with capture_logs() as logs:
        async with service:
            first.work.spawn(quick(first))
            second.work.spawn(quick(second))
            second.work.spawn(asyncio.Event().wait())

    line = stopped_line(logs)
    assert line["drained"] == 2
    assert line["cut_off"] == 1
    assert line["reason"] == "exit"
    assert line["log_level"] == "info"


async def test_leaving_the_block_by_an_error_says_so_in_the_shutdown_line() -> None:
    service = Harness([Part("bus", [])])

    with capture_logs() as logs, pytest.raises(KeyError):
        async with service:
            raise KeyError("boom")

    assert stopped_line(logs)["reason"] == "error"
    assert state(service) is ServiceState.STOPPED


# ------------------------------------------------------------------ health


async def test_not_ready_before_start_ready_while_running_not_ready_after_stop() -> None:
    service = Harness([Part("bus", []), Part("cache", [])])

    before = await service.health_report()
    async with service:
        during = await service.health_report()
    after = await service.health_report()

    assert (before.ready, before.state, before.live) == (False, "new", True)
    assert (during.ready, during.state, during.status) == (True, "running", HealthStatus.UP)
    assert set(during.checks) == {"bus", "cache"}
    assert (after.ready, after.state, after.live) == (False, "stopped", True)
    assert during.service == "harness"


async def test_a_resource_whose_health_check_raises_is_down_and_its_message_stays_out() -> None:
    async def broken() -> Health:
        raise ConnectionError("redis://:hunter2@cache.internal:6379 refused")

    service = Harness([Part("bus", []), Part("cache", [], health=broken)])

    async with service:
        report = await service.health_report()

    assert report.checks["cache"].status is HealthStatus.DOWN
    assert report.checks["bus"].status is HealthStatus.UP
    assert report.status is HealthStatus.DOWN
    assert not report.ready
    assert report.live
    dumped = report.model_dump_json()
    assert "hunter2" not in dumped
    assert "cache.internal" not in dumped


async def test_a_resource_whose_health_check_hangs_is_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service_module, "HEALTH_CHECK_TIMEOUT", 0.05)

    async def hangs() -> Health:
        await asyncio.Event().wait()
        return Health.up()

    service = Harness([Part("db", [], health=hangs)])

    async with service:
        report = await service.health_report()

    assert report.checks["db"].status is HealthStatus.DOWN
    assert report.checks["db"].detail.startswith("health check took longer than")
    assert not report.ready


async def test_a_degraded_resource_keeps_the_service_ready() -> None:
    async def degraded() -> Health:
        return Health.degraded("serving from a stale replica")

    service = Harness([Part("bus", []), Part("cache", [], health=degraded)])

    async with service:
        report = await service.health_report()

    assert report.ready
    assert report.status is HealthStatus.DEGRADED
    assert report.checks["cache"].detail == "serving from a stale replica"


# ------------------------------------------------------------------ settings resolution


class ReportSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REPORTS_")


class Reports(Service):
    settings: ReportSettings


def test_settings_class_comes_from_the_annotation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORTS_SERVICE_NAME", "reports")

    service = Reports()

    assert isinstance(service.settings, ReportSettings)
    assert service.name == "reports"
    assert state(service) is ServiceState.NEW


def test_given_settings_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORTS_SERVICE_NAME", "from-env")

    service = Reports(ReportSettings(service_name="given"))

    assert service.name == "given"


# ------------------------------------------------------------------ real signals

SIGNAL_SERVICE = Path(__file__).with_name("_signal_service.py")
# Generous: a loaded machine may be slow to start Python; the test waits on lines, not time.
LINE_DEADLINE = 30.0


class Child:
    """The signal service in a child process, read line by line with a deadline."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    @classmethod
    async def start(cls, mode: str, tmp_path: Path, shutdown_timeout: float) -> Child:
        env = {key: value for key, value in os.environ.items() if not key.startswith("SVCKIT_")}
        env |= {
            "SVCKIT_SERVICE_NAME": "signal-test",
            "SVCKIT_ENVIRONMENT": "test",
            "SVCKIT_LOG_FORMAT": "json",
            "SVCKIT_SHUTDOWN_TIMEOUT": str(shutdown_timeout),
            "PYTHONUNBUFFERED": "1",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SIGNAL_SERVICE),
            mode,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=tmp_path,  # no stray .env decides the settings
        )
        return cls(process)

    async def wait_for_line(self, expected: str) -> None:
        assert self.process.stdout is not None
        async with asyncio.timeout(LINE_DEADLINE):
            while True:
                raw = await self.process.stdout.readline()
                if not raw:
                    stderr = await self._stderr()
                    pytest.fail(f"child ended before {expected!r}: {self.lines}\n{stderr}")
                line = raw.decode().rstrip("\n")
                self.lines.append(line)
                if line == expected:
                    return

    async def finish(self) -> tuple[int, list[str], list[dict[str, Any]]]:
        """Wait for the exit; return the code, the rest of stdout and the JSON log lines."""
        async with asyncio.timeout(LINE_DEADLINE):
            stdout, stderr = await self.process.communicate()
        self.lines += stdout.decode().splitlines()
        logs = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
        assert self.process.returncode is not None
        return self.process.returncode, self.lines, logs

    async def _stderr(self) -> str:
        assert self.process.stderr is not None
        return (await self.process.stderr.read()).decode()

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.communicate()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_during_work_drains_it_and_exits_cleanly(
    tmp_path: Path, signum: signal.Signals
) -> None:
    child = await Child.start("drain", tmp_path, shutdown_timeout=30)
    try:
        await child.wait_for_line("job started")
        child.process.send_signal(signum)
        code, lines, logs = await child.finish()
    finally:
        await child.kill()

    assert code == 0
    # The job was in flight when the signal came, and ended after intake had stopped.
    assert lines[0] == "job started"
    assert sorted(lines[1:-1]) == ["draining", "intake stopping", "job finished"]
    assert lines.index("intake stopping") < lines.index("job finished")
    assert lines[-1] == "exited cleanly"
    line = stopped_line(logs)
    assert (line["drained"], line["cut_off"]) == (1, 0)
    assert line["reason"] == f"signal {signum.name}"
    assert line["service"] == "signal-test"


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT])
async def test_a_second_signal_during_a_stuck_drain_forces_exit(
    tmp_path: Path, second: signal.Signals
) -> None:
    # The drain would wait far longer than the test may run: only the forced exit ends it.
    child = await Child.start("stuck", tmp_path, shutdown_timeout=3600)
    try:
        await child.wait_for_line("job started")
        child.process.send_signal(signal.SIGTERM)
        await child.wait_for_line("draining")
        child.process.send_signal(second)
        code, lines, logs = await child.finish()
    finally:
        await child.kill()

    assert code == 128 + second.value
    assert "job finished" not in lines
    assert "exited cleanly" not in lines
    assert [entry["event"] for entry in logs if entry["event"] == "service stopped"] == []
    forced = [entry for entry in logs if entry["event"] == "second signal, forcing exit"]
    assert len(forced) == 1
    assert forced[0]["signal"] == second.name
