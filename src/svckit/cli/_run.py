"""``svckit run module:Class [module:Class ...]``: run services in this process.

Settings come from the environment and ``.env`` as each service's settings class reads
them. Several services in one process share its embedded broker on the default
``memory://`` URL, so they can talk with no infrastructure at all.

Exit codes: 0 after a graceful shutdown, 1 when a service failed, 2 for a bad target,
78 (EX_CONFIG) for settings that are invalid or unsafe.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from svckit.core.errors import ConfigurationError
from svckit.core.logging import get_logger
from svckit.core.runner import serve
from svckit.core.service import Service

if TYPE_CHECKING:
    import argparse

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 78

_log = get_logger("svckit.cli")


class TargetError(Exception):
    """A ``module:Class`` target that cannot be loaded."""


def add_parser(commands: Any) -> None:
    """Add ``run`` to the ``svckit`` parser."""
    run = commands.add_parser(
        "run",
        help="run one or several services",
        description="Run services until SIGTERM or SIGINT. TARGET is module:Class, for "
        "example examples.media_worker:MediaWorker.",
    )
    run.add_argument("targets", nargs="+", metavar="TARGET")
    run.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        type=str.upper,
        help="override each service's log level",
    )
    run.set_defaults(handler=_run)


def load_target(target: str) -> type[Service]:
    """Import ``module:Class`` and check that it is a service class.

    Raises:
        TargetError: with a message that says what is wrong.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise TargetError(f"{target!r} is not module:Class (for example app.worker:Thumbnails)")
    # Like `python -m`, find modules in the working directory first.
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise TargetError(f"cannot import module {module_name!r}: {exc}") from exc
        raise
    value: Any = module
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise TargetError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not (isinstance(value, type) and issubclass(value, Service)):
        raise TargetError(f"{target!r} is not a svckit Service subclass")
    return value


def _run(args: argparse.Namespace) -> int:
    try:
        classes = [load_target(target) for target in args.targets]
    except TargetError as exc:
        print(f"svckit run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    overrides = {"log_level": args.log_level} if args.log_level else {}
    try:
        services = [cls(cls.resolve_settings_class()(**overrides)) for cls in classes]
    except (ConfigurationError, ValidationError) as exc:
        print(f"svckit run: invalid settings: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    names = [s.name for s in services]
    if len(set(names)) != len(names):
        print(
            f"svckit run: two services share a name ({', '.join(names)}); give each its own "
            "service_name",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        asyncio.run(serve(services))
    except Exception:  # noqa: BLE001 - report any failure as the exit code
        _log.exception("service failed")
        return EXIT_FAILED
    return 0
