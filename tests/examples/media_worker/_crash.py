"""Functions a process pool runs in the pool tests (importable in a spawned child)."""

from __future__ import annotations

import os


def die() -> None:
    """End the pool process at once, as a crash in a decoder would."""
    os._exit(70)


def double(value: int) -> int:
    """A job that works."""
    return value * 2
