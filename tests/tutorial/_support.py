"""Helpers of the tutorial tests: a copy of the tutorial's repository, its commands, a worker.

The tutorial's code is the folder ``docs/examples/tutorial``, laid out as the new
repository the reader builds; the shell commands of the two pages are the sections of
``tutorial.sh`` and ``scaling.sh`` in that folder. The tests copy the repository to a
temporary folder and run the documented commands there, with this virtual environment's
Python standing in for the reader's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import string
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import pytest

from svckit.messaging.transport import QueueSpec

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "examples" / "tutorial"
#: What the how-to "Scale out a worker" adds to the tutorial's repository.
HOW_TO_FILES = ["deploy", "scaled.py"]
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
#: How long one step (a start, a message, a shutdown) may take before the test fails.
STEP_TIMEOUT = 20.0
#: Settings prefixes that must not leak from the test run into the tutorial's processes.
_FOREIGN_SETTINGS = ("SVCKIT_", "THUMBS_", "PYTEST_ADDOPTS")


def new_repository(parent: Path, *, with_how_to: bool = False) -> Path:
    """Copy the tutorial's repository under ``parent``, as the reader has it; return it.

    Args:
        parent: Where to put the copy.
        with_how_to: Include what the how-to "Scale out a worker" adds to the repository.
    """
    repo = parent / "thumbs-worker"
    # The command files and the lint settings are svckit's, not the reader's.
    ignored = ["__pycache__", ".*_cache", "*.sh", "ruff.toml"]
    if not with_how_to:
        ignored += HOW_TO_FILES
    shutil.copytree(TUTORIAL, repo, ignore=shutil.ignore_patterns(*ignored))
    return repo


def clean_environment(**values: str) -> dict[str, str]:
    """This process's environment without any svckit settings, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_SETTINGS)}
    env["PYTHONUNBUFFERED"] = "1"
    return env | values


def commands(section: str, *, page: str = "tutorial") -> list[str]:
    """The command lines of one ``--8<--`` section of ``tutorial.sh`` (or ``scaling.sh``)."""
    text = (TUTORIAL / f"{page}.sh").read_text(encoding="utf-8")
    name = re.escape(section)
    match = re.search(
        rf"^# --8<-- \[start:{name}\]\n(.*?)^# --8<-- \[end:{name}\]",
        text,
        re.DOTALL | re.MULTILINE,
    )
    assert match, f"{page}.sh has no section {section!r}"
    return [line for line in match.group(1).splitlines() if line and not line.startswith("#")]


def command(section: str, program: str, *, page: str = "tutorial") -> str:
    """The first line of ``section`` that runs ``program`` (``svckit``, ``python``...)."""
    for line in commands(section, page=page):
        if documented(line, {})[1][0] == program:
            return line
    raise AssertionError(f"section {section!r} of {page}.sh runs no {program!r}")


def documented(line: str, env: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Split a documented command line into its ``NAME=value`` prefix and its words.

    ``$VARS`` are taken from ``env``; a trailing ``&`` is dropped.
    """
    words = shlex.split(line)
    if words[-1] == "&":
        words.pop()
    assignments: dict[str, str] = {}
    while re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        name, _, value = words.pop(0).partition("=")
        assignments[name] = value
    return assignments, [string.Template(word).safe_substitute(env) for word in words]


def argv(line: str, env: Mapping[str, str]) -> list[str]:
    """A documented command line as this test runs it: ``$VARS`` from ``env``, our Python."""
    program, *rest = documented(line, env)[1]
    if program == "svckit":
        return [sys.executable, "-m", "svckit", *rest]
    if program == "python":
        return [sys.executable, *rest]
    if program == "pytest":
        return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *rest]
    raise AssertionError(f"the test does not know how to run {program!r}")


async def run(args: list[str], *, cwd: Path, env: Mapping[str, str]) -> tuple[int, str]:
    """Run a command to its end; return its exit code and its output (stderr included)."""
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=cwd,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(STEP_TIMEOUT * 2):
            output, _ = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


class Worker:
    """A ``svckit run`` process whose JSON log lines (on stderr) the test can wait for."""

    def __init__(self, args: list[str], *, cwd: Path, env: Mapping[str, str]) -> None:
        """Prepare to run ``args``; entering the worker starts it."""
        self._args = args
        self._cwd = cwd
        self._env = dict(env)
        self.process: asyncio.subprocess.Process | None = None
        self.logs: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._pump: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        """Start the process and read its log lines as they come."""
        self.process = await asyncio.create_subprocess_exec(
            *self._args,
            cwd=self._cwd,
            env=self._env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._pump = asyncio.create_task(self._read(self.process))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Kill the process if the test left it running (after a failure)."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if self._pump is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            line = raw.decode(errors="replace").strip()
            try:
                entry = json.loads(line)
            except ValueError:
                entry = {"event": line}
            async with self._changed:
                self.logs.append(entry)
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    def _found(self, event: str, fields: Mapping[str, object]) -> dict[str, Any] | None:
        for entry in self.logs:
            if entry.get("event") == event and all(entry.get(k) == v for k, v in fields.items()):
                return entry
        return None

    async def wait_log(self, event: str, **fields: object) -> dict[str, Any]:
        """The first log line ``event`` with ``fields``; fail if the process ends first."""
        assert self._pump is not None
        try:
            async with asyncio.timeout(STEP_TIMEOUT), self._changed:
                await self._changed.wait_for(
                    lambda: self._found(event, fields) is not None or self._pump.done()  # type: ignore[union-attr]
                )
        except TimeoutError:
            pytest.fail(f"no {event!r} log line within {STEP_TIMEOUT} s: {self.logs[-5:]}")
        found = self._found(event, fields)
        if found is None:
            pytest.fail(f"the worker ended before logging {event!r}: {self.logs[-5:]}")
        return found

    async def stop(self) -> int:
        """Send SIGTERM, as an orchestrator does; return the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(STEP_TIMEOUT):
            code = await self.process.wait()
            assert self._pump is not None
            await self._pump
        return code


def delay_queues(queue: str) -> list[str]:
    """Every delay queue a consumer of ``queue`` may have made, whatever its retry delays.

    A retry waits in ``<queue>.delay.<ms>``, with ``ms`` on svckit's grid of delay buckets,
    so the candidates are that grid up to an hour.
    """
    from svckit.messaging._handling import delay_bucket_ms  # noqa: PLC0415 - the grid's source

    spec = QueueSpec(name=queue, exchange="", patterns=())
    names: set[str] = set()
    seconds = 0.0
    while seconds < 3600:  # an hour: longer than any test's retry
        ms = delay_bucket_ms(seconds)
        names.add(spec.delay_queue(ms))
        seconds = ms / 1000 * 1.1
    return sorted(names)


async def delete_queues(queues: list[str]) -> None:
    """Delete a consumer's queues, its dead letters and its delay queues from RabbitMQ."""
    import aio_pika  # noqa: PLC0415 - only the RabbitMQ tests clean up

    names = {name for queue in queues for name in (queue, f"{queue}.dlq", *delay_queues(queue))}
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        for name in sorted(names):
            # Deleting a queue that does not exist succeeds on RabbitMQ.
            await channel.queue_delete(name)
