"""The ``svckit`` command.

::

    svckit --version                     the installed version
    svckit run module:Class [...]        run services until SIGTERM or SIGINT
    svckit demo                          run a small service on the embedded defaults
    svckit dlq list QUEUE                list a consumer's dead letters
    svckit dlq show QUEUE MESSAGE_ID     one dead letter, with its error and body
    svckit dlq replay QUEUE --all        send dead letters back to their queue
    svckit dlq purge QUEUE --yes         delete them

Exit codes: 0 success, 1 the operation failed, 2 bad usage, 78 invalid settings.
"""

from __future__ import annotations

import argparse
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from svckit.cli import _demo, _dlq, _run

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``svckit`` command."""
    parser = argparse.ArgumentParser(prog="svckit", description="Run and operate svckit services.")
    parser.add_argument("--version", action="version", version=f"svckit {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _run.add_parser(commands)
    _demo.add_parser(commands)
    _dlq.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``svckit`` command; return its exit code."""
    args = build_parser().parse_args(argv)
    handler = args.handler
    return int(handler(args))


def _version() -> str:
    try:
        return version("svckit")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"
