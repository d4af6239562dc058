"""``svckit run`` when the broker is wrong: bad URLs, refused and silent ports, a signal meanwhile.

A silent broker is a TCP server of the test's own that accepts connections and never
answers, the way a port-forward or a load balancer in front of a dead RabbitMQ does.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import socket
import subprocess
import sys
from importlib.metadata import version
from typing import TYPE_CHECKING

import pytest

from svckit.cli import build_parser, main
from svckit.cli._run import EXAMPLE_TARGET, describe_failure, load_target
from tests._processes import svckit_run

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

SAMPLES = "tests.worker.sample_services"
PASSWORD = "hunter2-secret"  # noqa: S105 - planted, to be looked for in the output
DEADLINE = 30


class SilentBroker:
    """Accepts TCP connections, reads what the client sends, never answers."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.disconnected = asyncio.Event()
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connected.set()
        with contextlib.suppress(ConnectionError):
            while await reader.read(4096):
                pass
        self.disconnected.set()
        writer.close()

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[SilentBroker]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        async with server:
            yield self


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def env_for(port: int, **extra: str) -> dict[str, str]:
    return {
        "THUMBS_BUS_URL": f"amqp://guest:{PASSWORD}@127.0.0.1:{port}/",
        "THUMBS_HEALTH_PORT": "0",
        "THUMBS_LOG_FORMAT": "json",
        "THUMBS_ENVIRONMENT": "test",
        **extra,
    }


def stderr_text(logs: list[dict[str, object]]) -> str:
    return "\n".join(str(entry) for entry in logs)


# ------------------------------------------------------------------ settings


def test_a_bad_bus_url_scheme_is_invalid_settings_and_never_echoes_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("THUMBS_BUS_URL", f"rabbit://guest:{PASSWORD}@rabbit.internal/")

    assert main(["run", f"{SAMPLES}:Thumbnails"]) == 78

    err = capsys.readouterr().err
    assert "THUMBS_BUS_URL" in err
    assert "unsupported bus URL scheme 'rabbit'" in err
    assert PASSWORD not in err
    assert "rabbit.internal" not in err
    assert len(err.strip().splitlines()) == 1, err


# ------------------------------------------------------------------ connection failures


@pytest.mark.timeout(60)
async def test_a_refused_connection_is_one_line_naming_scheme_host_and_port() -> None:
    port = closed_port()
    async with svckit_run(f"{SAMPLES}:Thumbnails", env_for(port)) as worker:
        async with asyncio.timeout(DEADLINE):
            code = await worker.process.wait()
            await worker._reader

    assert code == 1
    failed = [entry for entry in worker.logs if entry.get("event") == "service failed"]
    assert len(failed) == 1, worker.logs
    error = str(failed[0]["error"])
    assert f"resource 'bus' (amqp://127.0.0.1:{port}/)" in error
    assert "service 'thumbs'" in error
    assert "ConnectionRefusedError" in error
    text = stderr_text(worker.logs)
    assert PASSWORD not in text
    assert "Traceback" not in text  # the traceback is logged at DEBUG only


@pytest.mark.timeout(60)
async def test_a_broker_that_never_answers_fails_once_the_connect_timeout_passes() -> None:
    async with SilentBroker().serving() as broker:
        env = env_for(broker.port, THUMBS_BUS_CONNECT_TIMEOUT="0.5")
        async with svckit_run(f"{SAMPLES}:Thumbnails", env) as worker:
            async with asyncio.timeout(DEADLINE):
                code = await worker.process.wait()
                await worker._reader

    assert code == 1
    failed = [entry for entry in worker.logs if entry.get("event") == "service failed"]
    assert len(failed) == 1, worker.logs
    error = str(failed[0]["error"])
    assert f"amqp://127.0.0.1:{broker.port}/" in error
    assert "timed out after 0.5 s" in error
    assert PASSWORD not in stderr_text(worker.logs)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_while_the_broker_hangs_cancels_start_up_and_exits(
    signum: signal.Signals,
) -> None:
    async with SilentBroker().serving() as broker:
        # Far longer than the test may run: only the signal can end the start-up.
        env = env_for(broker.port, THUMBS_BUS_CONNECT_TIMEOUT="3600")
        async with svckit_run(f"{SAMPLES}:Thumbnails", env) as worker:
            async with asyncio.timeout(DEADLINE):
                await broker.connected.wait()
                worker.process.send_signal(signum)
                code = await worker.process.wait()
                await worker._reader
                await broker.disconnected.wait()

    assert code == 0, worker.logs
    cancelled = [e for e in worker.logs if str(e.get("event", "")).startswith("start-up cancelled")]
    assert len(cancelled) == 1, worker.logs
    assert cancelled[0]["reason"] == f"signal {signum.name}"
    assert cancelled[0]["service"] == "thumbs"
    assert worker.log("second signal, forcing exit") is None
    assert worker.log("service failed") is None


# ------------------------------------------------------------------ the failure line


def test_a_failure_line_carries_the_notes_and_causes_without_credentials() -> None:
    exc = RuntimeError("cannot connect")
    exc.__cause__ = ConnectionRefusedError("connect to amqp://bob:pa55@db.internal:5672/ refused")
    exc.add_note("while opening resource 'bus' (amqp://db.internal:5672/)")
    exc.add_note("service 'users'")

    line = describe_failure(exc)

    assert line == (
        "service 'users': while opening resource 'bus' (amqp://db.internal:5672/): "
        "RuntimeError: cannot connect <- ConnectionRefusedError: connect to "
        "amqp://db.internal:5672/ refused"
    )


def test_a_failure_line_leaves_out_the_cancellation_under_a_timeout() -> None:
    timeout = TimeoutError()
    timeout.__cause__ = asyncio.CancelledError()
    exc = RuntimeError("cannot connect to RabbitMQ: no answer within 10.0s")
    exc.__cause__ = timeout

    line = describe_failure(exc)

    assert line == (
        "RuntimeError: cannot connect to RabbitMQ: no answer within 10.0s <- TimeoutError"
    )


# ------------------------------------------------------------------ help and version


def test_the_help_example_is_a_service_that_ships_with_svckit() -> None:
    # What `svckit run --help` suggests must import from an installed wheel: inside svckit.
    run_help = subprocess.run(
        [sys.executable, "-m", "svckit", "run", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    examples = set(re.findall(r"\b[\w.]+:[A-Z]\w*", " ".join(run_help.split())))
    shipped = {target for target in examples if target.startswith("svckit.")}
    assert shipped == {EXAMPLE_TARGET}, run_help
    assert load_target(EXAMPLE_TARGET).__module__.startswith("svckit.")
    assert not {t for t in examples if t.startswith("examples.")}


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["--version"])

    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"svckit {version('svckit')}"
