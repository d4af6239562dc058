"""Structured logs: structlog and the standard library, configured once per process.

`configure_logging` sets up one pipeline for both structlog's loggers and the standard
library's (so lines from aio-pika, uvicorn or aiogram look like svckit's own), writing
to standard error:

- **JSON lines** in production or with ``log_format="json"``; readable **console**
  lines in development (``"console"``, or ``"auto"`` outside production).
- Every line carries ``timestamp`` (ISO 8601, UTC), ``level``, ``logger``, ``event``
  and ``service``, plus what is bound for the work at hand: ``request_id``,
  ``message_id``, ``update_id`` (see `bind_context`), and ``trace_id`` / ``span_id``
  of the current OpenTelemetry span when there is one.
- **Values are bounded**: text longer than 2,048 characters is cut and marked
  ``…[+N chars]`` (a rendered exception or stack keeps its last 8,192), containers keep
  their first 100 items, and a value bound to the context keeps 256 characters.
- **Secrets are masked** before rendering, in values and in text (the message and the
  rendered exception included): values under secret-looking keys (``password``,
  ``X-Api-Key``...), the value after such a key in text (``x-api-key=...``,
  ``'x-api-key': '...'``, ``x-api-key error: ...``), URL passwords, Authorization
  credentials, Telegram bot tokens, ``SecretStr`` values.
- There is **one log context**, structlog's own (``structlog.contextvars``): what
  `bind_context` binds and what ``bind_contextvars`` binds are the same.
- Chatty libraries (aio-pika, aiormq, httpx, the uvicorn access log...) log warnings and
  above only, unless the level is DEBUG.

::

    configure_logging(settings)
    log = get_logger(__name__)
    with bind_context(message_id=message.id):
        log.info("thumbnail made", size=len(data))
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO, cast

import structlog

from svckit.core._redact import bound_text, redact_event
from svckit.core.telemetry import current_trace_ids

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from contextvars import ContextVar, Token

    from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

    from svckit.core.settings import ServiceSettings

__all__ = [
    "CONTEXT_LIMIT",
    "NOISY_LOGGERS",
    "bind",
    "bind_context",
    "bound",
    "configure_logging",
    "current_request_id",
    "get_logger",
    "unbind",
]

#: The longest text `bind` and `bind_context` keep of one value; the rest is cut.
CONTEXT_LIMIT = 256

#: Standard-library loggers that log every connection, request or update at INFO.
#: `configure_logging` raises their level to WARNING unless the level is DEBUG.
NOISY_LOGGERS = (
    "aio_pika",
    "aiormq",
    "aiogram.event",
    "asyncio",
    "hpack",
    "httpcore",
    "httpcore2",
    "httpx",
    "httpx2",
    "multipart",
    "pamqp",
    "python_multipart",
    "urllib3",
    "uvicorn.access",
    "watchfiles",
)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """The one root handler svckit installs.

    It writes to whatever ``sys.stderr`` is at the time of each record, so replacing
    the stream later (pytest does, and so do daemonising tools) keeps working.
    """

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        # logging.StreamHandler.__init__ assigns the stream; it is read live instead.
        pass

    def write_line(self, line: str) -> None:
        """Write a line rendered by structlog, as `emit` writes a formatted record."""
        self.acquire()
        try:
            stream = self.stream
            stream.write(line + self.terminator)
            stream.flush()
        except Exception:  # noqa: BLE001 - as logging.Handler.emit: reported, not raised
            self.handleError(logging.makeLogRecord({"msg": line}))
        finally:
            self.release()


class _State:
    handler: _StderrHandler | None = None
    quieted: frozenset[str] = frozenset()
    service: str | None = None


def _add_service(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    # The context variable wins: several services may share one process, each in its
    # own task. Lines from other threads fall back to the last configured service.
    if _State.service is not None:
        event_dict.setdefault("service", _State.service)
    return event_dict


def _add_trace_ids(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    ids = current_trace_ids()
    if ids is not None:
        event_dict.setdefault("trace_id", ids[0])
        event_dict.setdefault("span_id", ids[1])
    return event_dict


# The level of each of structlog's method names, as its processors see them.
_LEVELS = {name.lower(): level for name, level in logging.getLevelNamesMapping().items()}


def _only_to(handler: logging.Handler, logger: logging.Logger, level: int) -> bool:
    # Whether the standard library would give a line of this level to ``handler`` alone,
    # unchanged: no filter on the logger or the handlers (the ancestors' loggers' own
    # filters do not apply), no other handler on the way (pytest's, Sentry's...).
    if logger.filters or not logger.isEnabledFor(level):
        return False
    found = False
    current: logging.Logger | None = logger
    while current is not None:
        for each in current.handlers:
            if each is not handler or each.filters or level < each.level:
                return False
            found = True
        if not current.propagate:
            break
        current = current.parent
    return found


class _Route:
    """The last processor of structlog's lines: write them, or hand them over.

    When svckit's handler is the only place the standard library would send the line,
    it is rendered here and written by the handler directly (no LogRecord, no second
    pass through a formatter), and the event ends here (``DropEvent``: nothing is left
    for the standard library's logger to do). Otherwise it goes through the standard
    library as before: its filters see it, every handler gets it, and svckit's
    formats it the same way.
    """

    def __init__(self, handler: _StderrHandler, renderer: Processor) -> None:
        self._handler = handler
        self._renderer = renderer

    def __call__(self, logger: logging.Logger, method: str, event_dict: EventDict) -> Any:
        level = _LEVELS.get(method)
        if level is None or not _only_to(self._handler, logger, level):
            return structlog.stdlib.ProcessorFormatter.wrap_for_formatter(
                logger, method, event_dict
            )
        self._handler.write_line(cast("str", self._renderer(logger, method, event_dict)))
        raise structlog.DropEvent


def _json_default(value: Any) -> Any:
    # As structlog's own: what the object's __structlog__ gives, else its repr.
    try:
        return value.__structlog__()
    except AttributeError:
        return repr(value)


# One encoder for every line: json.dumps with an option makes a new one each call.
_ENCODER = json.JSONEncoder(default=_json_default)


def _dumps(event_dict: EventDict, **_options: Any) -> str:
    return _ENCODER.encode(event_dict)


def _renderer(settings: ServiceSettings) -> Processor:
    fmt = settings.log_format
    if fmt == "auto":
        fmt = "json" if settings.is_production else "console"
    if fmt == "json":
        return structlog.processors.JSONRenderer(serializer=_dumps)
    stream = sys.stderr
    colors = stream.isatty() and "NO_COLOR" not in os.environ
    return structlog.dev.ConsoleRenderer(colors=colors)


def configure_logging(settings: ServiceSettings) -> None:
    """Configure structlog and the standard library's logging for this process.

    Safe to call again: the new settings replace the old ones, loggers already made or
    used follow them, and svckit's handler on the root logger is replaced, never added
    twice. Handlers that others put on the root logger are left alone (and get svckit's
    lines too, already redacted).

    Args:
        settings: Supplies ``service_name``, ``log_level``, ``log_format`` and
            ``environment``.
    """
    level = logging.getLevelNamesMapping()[settings.log_level]
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    # Run for every line, structlog's and the standard library's alike.
    common: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        _add_service,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        timestamper,
        _add_trace_ids,
    ]
    renderer = _renderer(settings)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*common, structlog.processors.format_exc_info, redact_event],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    structlog.configure(
        processors=[
            *common,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            # Redacting before the line leaves keeps secrets from any other handler on
            # the root logger, too.
            redact_event,
            _Route(handler, renderer),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # svckit's loggers cache their bound logger themselves, per configuration.
        cache_logger_on_first_use=False,
    )

    root = logging.getLogger()
    if _State.handler is not None:
        root.removeHandler(_State.handler)
        _State.handler.close()
    root.addHandler(handler)
    root.setLevel(level)
    _State.handler = handler
    _quiet_noisy_loggers(level)

    _State.service = settings.service_name
    structlog.contextvars.bind_contextvars(service=settings.service_name)


def _quiet_noisy_loggers(level: int) -> None:
    for name in _State.quieted:
        logging.getLogger(name).setLevel(logging.NOTSET)
    quieted = set()
    if level > logging.DEBUG:
        for name in NOISY_LOGGERS:
            logger = logging.getLogger(name)
            # A level the application chose for the library is its own business.
            if logger.level == logging.NOTSET:
                logger.setLevel(max(level, logging.WARNING))
                quieted.add(name)
    _State.quieted = frozenset(quieted)


def get_logger(name: str | None = None) -> FilteringBoundLogger:
    """A structlog logger; safe to create at import time, before configuration.

    Args:
        name: The logger's name, shown as ``logger`` in each line; by default the
            calling module's ``__name__``.

    Example:
        >>> log = get_logger(__name__)
        >>> log.info("user created", user_id=42)
    """
    if name is None:
        name = sys._getframe(1).f_globals.get("__name__", "svckit")  # noqa: SLF001 - cheaper than inspect
    return cast("FilteringBoundLogger", _Logger(name))


class _Logger:
    """What `get_logger` returns: structlog's logger, bound once per configuration.

    A configuration is svckit's handler (each `configure_logging` installs a new one)
    and structlog's own settings (which `configure_logging`, ``structlog.configure``
    or ``structlog.testing.capture_logs`` may replace): when either changes, the next
    line binds again. Before svckit configures logging (or after a test resets it),
    structlog's configuration applies line by line, as with ``structlog.get_logger``.
    """

    __slots__ = ("_bound", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._bound: tuple[tuple[Any, ...], Any] | None = None

    def __getattr__(self, attribute: str) -> Any:
        handler = _State.handler
        if handler is None:
            return getattr(structlog.get_logger(self._name), attribute)
        key = (handler, *structlog.get_config().values())
        cached = self._bound
        if cached is None or cached[0] != key:
            cached = self._bound = (key, structlog.get_logger(self._name).bind())
        return getattr(cached[1], attribute)


@contextmanager
def bind_context(**values: Any) -> Iterator[None]:
    """Add values (request id, message id, update id...) to every line in the block.

    The values are context variables, so they follow the current task and the tasks it
    starts, and what was bound before the block is restored after it.

    Example:
        >>> with bind_context(request_id="3f2a", user_id=7):
        ...     log.info("user updated")
    """
    token = bind(**values)
    try:
        yield
    finally:
        unbind(token)


def bind(**values: Any) -> Mapping[str, Token[Any]]:
    """Bind ``values`` to the log context; `unbind` the result to restore what was before.

    The form of `bind_context` for code that cannot use a ``with`` block. The values go
    into structlog's context variables (``structlog.contextvars``), the one log context
    of the process: values bound with ``structlog.contextvars.bind_contextvars`` are
    seen by `bound` and `current_request_id`, and the other way round; the result is
    the same mapping of tokens that ``bind_contextvars`` returns. Text longer than
    `CONTEXT_LIMIT` characters (a hostile request id, say) is cut first, since a bound
    value is repeated on every line.
    """
    tokens = {}
    for key, value in values.items():
        if isinstance(value, str) and len(value) > CONTEXT_LIMIT:
            value = bound_text(value, CONTEXT_LIMIT)  # noqa: PLW2901 - the bounded value
        tokens[key] = (_VARIABLES.get(key) or _variable(key)).set(value)
    return tokens


def unbind(token: Mapping[str, Token[Any]]) -> None:
    """Restore the log context as it was before `bind` returned ``token``."""
    for each in token.values():
        each.var.reset(each)


def bound() -> dict[str, Any]:
    """The values bound to the log context (by `bind_context`, `bind` or structlog)."""
    return structlog.contextvars.get_contextvars()


def current_request_id() -> str | None:
    """The ``request_id`` bound to the log context, if it is text."""
    value = (_VARIABLES.get("request_id") or _variable("request_id")).get()
    return value if isinstance(value, str) else None


# structlog's own variable for each key svckit binds (structlog keeps one per key). The
# consumer binds for every message and the bus reads the request id for every publish:
# holding the variables saves a lookup of the key's name and a scan of the whole context
# each time (about 1.5 us of a message's 16 on the memory bus).
_VARIABLES: dict[str, ContextVar[Any]] = {}


def _variable(key: str) -> ContextVar[Any]:
    # structlog makes the variable on first use and hands it back inside the token.
    token = structlog.contextvars.bind_contextvars(**{key: ...})[key]
    token.var.reset(token)
    _VARIABLES[key] = token.var
    return token.var
