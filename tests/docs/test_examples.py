"""Every example the docs show runs, each in its own Python, the way a reader would run it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
ALL = sorted(path.name for path in EXAMPLES.glob("*.py"))
# Test modules for pytest; the other files are scripts.
PYTEST_FILES = [name for name in ALL if name.endswith("_test.py")]
# Scripts that serve until a signal stops them.
SERVING = ["first_service.py"]
SCRIPTS = [name for name in ALL if name not in PYTEST_FILES and name not in SERVING]
DEADLINE = 45.0


def example_environment() -> dict[str, str]:
    """This process's environment, without anything that would configure an example."""
    prefixes = ("SVCKIT_", "USERS_", "GREETER_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    # Keep the examples folder free of __pycache__.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_every_example_is_run_by_one_of_the_tests_below() -> None:
    assert sorted([*SCRIPTS, *SERVING, *PYTEST_FILES]) == ALL
    assert set(SERVING) <= set(ALL)


@pytest.mark.parametrize("name", SCRIPTS)
async def test_script_runs_to_completion(name: str, tmp_path: Path) -> None:
    # The working directory is empty, so no .env file decides anything.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / name),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env=example_environment(),
    )
    async with asyncio.timeout(DEADLINE):
        stdout, stderr = await process.communicate()

    # The examples assert what they show; a failed assert is a non-zero exit.
    assert process.returncode == 0, stderr.decode()
    assert "Traceback" not in stderr.decode()
    assert stdout or stderr, "an example should show its reader something"


@pytest.mark.parametrize("name", PYTEST_FILES)
async def test_test_module_passes_under_pytest(name: str) -> None:
    # Run from the examples folder, as a reader runs `pytest first_service_test.py` next to
    # the service: `python -m pytest` puts the folder on sys.path.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        name,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=EXAMPLES,
        env=example_environment(),
    )
    async with asyncio.timeout(DEADLINE):
        output, _ = await process.communicate()

    text = output.decode()
    assert process.returncode == 0, text
    assert " passed" in text
    assert "skipped" not in text


async def read_logs_until(stream: asyncio.StreamReader, event: str) -> list[dict[str, Any]]:
    """Read JSON log lines until one whose event is ``event``; fail at the deadline."""
    logs: list[dict[str, Any]] = []
    async with asyncio.timeout(DEADLINE):
        while True:
            raw = await stream.readline()
            if not raw:
                pytest.fail(f"the example ended before logging {event!r}: {logs}")
            line = raw.decode().strip()
            if line.startswith("{"):
                logs.append(json.loads(line))
                if logs[-1]["event"] == event:
                    return logs


async def get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    """A plain HTTP/1.1 GET on localhost; the status and the JSON body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_first_service_serves_until_stopped(tmp_path: Path, signum: signal.Signals) -> None:
    env = example_environment() | {
        "GREETER_LOG_FORMAT": "json",
        "GREETER_HEALTH_PORT": "0",  # a free port, not the default 8081
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / "first_service.py"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    )
    try:
        assert process.stderr is not None
        started = await read_logs_until(process.stderr, "service started")
        listening = [entry for entry in started if entry["event"] == "health endpoints listening"]
        if not listening:
            listening = await read_logs_until(process.stderr, "health endpoints listening")
        status, report = await get(listening[-1]["port"], "/readyz")
        process.send_signal(signum)  # Ctrl+C is SIGINT; an orchestrator sends SIGTERM
        stopped = await read_logs_until(process.stderr, "service stopped")
        async with asyncio.timeout(DEADLINE):
            await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()

    assert (status, report["ready"], report["state"]) == (200, True, "running")
    assert set(report["checks"]) == {"cache", "storage", "bus"}
    assert process.returncode == 0
    line = stopped[-1]
    assert (line["drained"], line["cut_off"]) == (0, 0)
    assert line["reason"] == f"signal {signum.name}"
