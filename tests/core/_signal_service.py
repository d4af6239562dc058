"""A service for the signal tests, run in a child process that receives real signals.

Usage: ``python _signal_service.py drain|stuck``. It runs one intake with one job in
flight and prints a line at each step, so the test can synchronise on them:

- ``job started``: the service runs and the job is in flight; send the signal now.
- ``intake stopping`` and ``draining``: shutdown has begun.
- ``job finished``: (``drain`` mode) the job ended during the drain.

In ``stuck`` mode the job never ends, so the drain lasts until ``shutdown_timeout``.
Settings come from the environment (``SVCKIT_*``); logs go to standard error.
"""

from __future__ import annotations

import asyncio
import sys

from svckit import DrainReport, InFlight, Service


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class OneJob:
    name = "one-job"

    def __init__(self, *, stuck: bool) -> None:
        self.stuck = stuck
        self.work = InFlight()
        self.stopping = asyncio.Event()

    async def start(self) -> None:
        self.work.spawn(self._job())

    async def stop(self) -> None:
        say("intake stopping")
        self.stopping.set()

    async def drain(self, timeout: float) -> DrainReport:
        say("draining")
        return await self.work.drain(timeout)

    async def _job(self) -> None:
        say("job started")
        await self.stopping.wait()
        if self.stuck:
            await asyncio.Event().wait()
        say("job finished")


class SignalService(Service):
    def __init__(self, *, stuck: bool) -> None:
        super().__init__()
        self.jobs = OneJob(stuck=stuck)

    def intakes(self) -> list[OneJob]:
        return [self.jobs]


def main() -> None:
    mode = sys.argv[1]
    asyncio.run(SignalService(stuck=mode == "stuck").run())
    say("exited cleanly")


if __name__ == "__main__":
    main()
