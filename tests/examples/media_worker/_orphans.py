"""A service-like parent of an image pool, for the tests that kill it with SIGKILL.

Run as ``python -m tests.examples.media_worker._orphans MODE`` with ``ORPHANS_DIR`` set:

- ``running``: start a two-process pool, write its pids to ``DIR/pids``, then wait
  forever;
- ``starting``: start a two-process pool whose processes, in their initializer, write
  ``DIR/pid-<pid>`` and then hold until ``DIR/go`` exists: the test kills the parent
  while they hold, exactly when a worker killed during start-up leaves them.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from examples.media_worker import pool as pool_module

#: How long a held pool process waits for the go file before it goes on anyway.
HOLD_LIMIT = 60.0


def held_setup(*args: int) -> None:
    """Write this process's pid, wait for the go file, then run the pool's own set-up."""
    folder = Path(os.environ["ORPHANS_DIR"])
    (folder / f"pid-{os.getpid()}").write_text("")
    deadline = time.monotonic() + HOLD_LIMIT
    while not (folder / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    pool_module._pool_process_setup(*args)


async def main(mode: str) -> None:
    if mode == "starting":
        # Held by reference, so the spawned processes import it from this module's name.
        pool_module._pool_process_setup = held_setup  # type: ignore[assignment]
    async with pool_module.ImagePool(workers=2) as images:
        executor = images._executor
        assert executor is not None
        pids = sorted(executor._processes)  # type: ignore[attr-defined]
        (Path(os.environ["ORPHANS_DIR"]) / "pids").write_text(" ".join(map(str, pids)))
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
