"""Functions a process pool runs in the pool tests (importable in a spawned child)."""

from __future__ import annotations

import os
import signal


def die() -> None:
    """End the pool process at once, as a crash in a decoder would."""
    os._exit(70)


def double(value: int) -> int:
    """A job that works."""
    return value * 2


def stop_signals_ignored() -> bool:
    """Whether this process ignores SIGINT and SIGTERM."""
    return all(signal.getsignal(s) is signal.SIG_IGN for s in (signal.SIGINT, signal.SIGTERM))


def niceness() -> int:
    """This process's nice value."""
    return os.nice(0)
