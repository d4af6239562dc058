"""Child processes started by tests: `svckit run` workers whose JSON log lines can be awaited."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


class ServiceProcess:
    """A child process: its stderr is read as JSON log lines, its stdout line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self.logs: list[dict[str, object]] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read_logs())

    async def _read_logs(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            try:
                entry = json.loads(raw)
            except ValueError:
                entry = {"event": raw.decode(errors="replace").strip()}
            async with self._changed:
                self.logs.append(entry)
                self._changed.notify_all()

    def log(self, event: str) -> dict[str, object] | None:
        """The first log line whose event is ``event``, if it came."""
        return next((e for e in self.logs if e.get("event") == event), None)

    async def wait_log(self, event: str, timeout: float = 30) -> dict[str, object]:
        """Wait for a log line whose event is ``event``."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.log(event) is not None)
        entry = self.log(event)
        assert entry is not None
        return entry

    async def wait_line(self, text: str, timeout: float = 30) -> str:
        """Read stdout until a line holds ``text``."""
        assert self.process.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.process.stdout.readline()
                if not raw:
                    pytest.fail(f"the process exited before printing {text!r}")
                line = raw.decode().strip()
                self.lines.append(line)
                if text in line:
                    return line

    async def stop(self, timeout: float = 60) -> int:
        """Send SIGTERM and wait for the exit code; the rest of stdout lands in `lines`."""
        self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(timeout):
            if self.process.stdout is not None:
                rest = await self.process.stdout.read()
                self.lines.extend(rest.decode().splitlines())
            code = await self.process.wait()
            await self._reader
        return code


@contextlib.asynccontextmanager
async def svckit_run(
    target: str, env: dict[str, str], *, cwd: Path | None = None
) -> AsyncIterator[ServiceProcess]:
    """Run ``svckit run target`` with ``env`` added to this environment; kill it if left running."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "svckit",
        "run",
        target,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    child = ServiceProcess(process)
    try:
        yield child
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (dedented) in a fresh interpreter, as a user's program would start."""
    return subprocess.run(  # noqa: S603 - this interpreter, code of the test's own
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
