"""``svckit run module:Class [module:Class ...]``: run services in this process.

Settings come from the environment and ``.env`` as each service's settings class reads
them. Several services in one process share its embedded broker on the default
``memory://`` URL, so they can talk with no infrastructure at all.

Exit codes: 0 after a graceful shutdown (a signal during start-up too: the start-up is
cancelled and what it opened is closed), 1 when a service failed, 2 for a bad target,
78 (EX_CONFIG) for settings that are invalid or unsafe.

A failure is one log line that says what failed and why (``service 'thumbs': while
opening resource 'bus' (amqp://rabbit:5672/): MessagingError: ...``), never with a
password; the traceback is logged at DEBUG (``--log-level debug``).
"""

from __future__ import annotations

import asyncio
import importlib
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from svckit.core._redact import redact_text
from svckit.core.errors import ConfigurationError
from svckit.core.logging import get_logger
from svckit.core.runner import serve
from svckit.core.service import Service

if TYPE_CHECKING:
    import argparse

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 78

#: A service shipped in svckit itself, so the example in ``--help`` runs from a wheel.
EXAMPLE_TARGET = "svckit.cli._demo:Greeter"

#: The longest failure line `describe_failure` writes, and how many causes it follows.
FAILURE_LIMIT = 2000
CAUSE_LIMIT = 5

# The user and password of a URL: ``scheme://user:pass@`` keeps ``scheme://``.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,30}://)[^\s/@]{0,500}@")

_log = get_logger("svckit.cli")


class TargetError(Exception):
    """A ``module:Class`` target that cannot be loaded."""


def add_parser(commands: Any) -> None:
    """Add ``run`` to the ``svckit`` parser."""
    run = commands.add_parser(
        "run",
        help="run one or several services",
        description="Run services until SIGTERM or SIGINT. TARGET is module:Class: "
        "app.worker:Thumbnails for the class Thumbnails in app/worker.py under the working "
        f"directory, or {EXAMPLE_TARGET}, the small service that ships with svckit.",
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
    services = []
    for cls in classes:
        settings_class = cls.resolve_settings_class()
        try:
            services.append(cls(settings_class(**overrides)))
        except ValidationError as exc:
            print(
                f"svckit run: invalid settings for {cls.__name__}: "
                + describe_validation_error(exc, settings_class),
                file=sys.stderr,
            )
            return EXIT_CONFIG
        except ConfigurationError as exc:
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
    except Exception as exc:  # noqa: BLE001 - report any failure as the exit code
        _log.debug("service failed, with its traceback", exc_info=exc)
        _log.error("service failed", error=describe_failure(exc))
        return EXIT_FAILED
    return 0


def describe_validation_error(exc: ValidationError, settings_class: type[Any]) -> str:
    """One line per invalid field, named by its variable; never the value given."""
    prefix = (settings_class.model_config.get("env_prefix") or "").upper()
    problems = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        field = ".".join(str(part) for part in error["loc"])
        variable = f"{prefix}{field}".upper() if field else "settings"
        problems.append(f"{variable} ({field}): {error['msg']}")
    return "; ".join(problems)


def describe_failure(exc: BaseException) -> str:
    """What failed and why, on one line: the context notes, then the chain of causes.

    URL credentials and other secrets are masked, and the line is bounded.
    """
    causes: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(causes) < CAUSE_LIMIT:
        seen.add(id(current))
        text = str(current).strip()
        line = f"{type(current).__name__}: {text}" if text else type(current).__name__
        # A timeout's CancelledError underneath says nothing to an operator.
        cancelled = isinstance(current, asyncio.CancelledError) and current is not exc
        if not cancelled and not any(line in earlier for earlier in causes):
            causes.append(line)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    notes = [str(note) for note in reversed(getattr(exc, "__notes__", []))]
    line = ": ".join([*notes, " <- ".join(causes)])
    line = redact_text(_USERINFO.sub(r"\1", " ".join(line.split())))
    return line if len(line) <= FAILURE_LIMIT else line[: FAILURE_LIMIT - 1] + "…"
