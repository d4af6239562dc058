"""Opening a robust RabbitMQ connection: a bounded connect, a one-line error, quiet reconnects.

Part of the RabbitMQ transport (`svckit.messaging.amqp`), which checks that aio-pika is
installed before it imports this module.

- `open_connection` bounds the first connect by a timeout and describes a failure in one
  line that names the scheme, host and port (never the user or the password) and why;
- `ConnectionLog` logs one warning when a connection goes and one info line when it is
  back, while aio-pika retries every second: the client libraries' own reconnect lines
  (an error a second) are demoted to debug by `quiet_reconnect_logs`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from typing import Any

import aio_pika
import aiormq
from yarl import URL

from svckit.core.errors import MessagingError
from svckit.core.logging import get_logger

__all__ = ["ConnectionLog", "describe_url", "open_connection", "quiet_reconnect_logs"]

_log = get_logger("svckit.amqp")

#: How long to wait between reconnect attempts, in seconds.
RECONNECT_INTERVAL = 1.0
#: The longest broker text quoted in an error.
_REPLY_LIMIT = 200


def describe_url(url: str) -> str:
    """``scheme://host:port`` of a broker URL: no user, no password, no query."""
    try:
        parsed = URL(url)
    except (TypeError, ValueError):
        return "<an invalid URL>"
    scheme = parsed.scheme or "amqp"
    port = parsed.explicit_port or (5671 if scheme == "amqps" else 5672)
    return f"{scheme}://{parsed.host or 'localhost'}:{port}"


#: How many causes of an error are searched for a reason.
_CAUSES_LIMIT = 10


def _causes(exc: BaseException) -> list[BaseException]:
    causes: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(causes) < _CAUSES_LIMIT:
        causes.append(current)
        current = current.__cause__ or current.__context__
    return causes


def _reason_of(cause: BaseException, timeout: float) -> str | None:
    reason: str | None = None
    if isinstance(cause, aiormq.exceptions.ProbableAuthenticationError):
        reason = "authentication failed (check the user and password)"
    elif isinstance(cause, TimeoutError):
        reason = f"timed out after {timeout:g} s (is it an AMQP port?)"
    elif isinstance(cause, ConnectionRefusedError):
        reason = "connection refused"
    elif isinstance(cause, socket.gaierror):
        reason = "unknown host"
    elif isinstance(cause, ssl.SSLError):
        reason = f"TLS failed ({cause.reason or type(cause).__name__})"
    elif isinstance(cause, aiormq.exceptions.IncompatibleProtocolError):
        reason = "the server does not speak AMQP 0-9-1"
    elif isinstance(cause, aiormq.exceptions.ConnectionClosed):
        code, text = [*cause.args, None, None][:2]
        reason = f"the broker closed the connection ({code}: {str(text)[:_REPLY_LIMIT]})"
    return reason


def _reason(exc: BaseException, timeout: float) -> str:
    """Why a connect failed, in a few words (never the URL, which holds the password)."""
    causes = _causes(exc)
    for cause in causes:
        reason = _reason_of(cause, timeout)
        if reason is not None:
            return reason
    failed = next((c for c in causes if isinstance(c, OSError) and c.strerror), None)
    if failed is not None:
        return str(failed.strerror)[:_REPLY_LIMIT]
    return type(exc).__name__


async def open_connection(
    url: str, *, name: str, timeout: float, **options: Any
) -> aio_pika.RobustConnection:
    """Connect within ``timeout`` seconds, or raise `MessagingError` naming the host and why.

    Args:
        url: The broker URL.
        name: The connection name shown in RabbitMQ's management tools.
        timeout: Seconds the first connect may take; each reconnect gets as long.
        **options: More keyword arguments for aio-pika's connection.
    """
    try:
        connection = aio_pika.RobustConnection(
            aio_pika.connection.make_url(url),
            client_properties={"connection_name": name},
            reconnect_interval=RECONNECT_INTERVAL,
            **options,
        )
    except (TypeError, ValueError) as exc:
        raise MessagingError(f"invalid RabbitMQ URL {describe_url(url)}") from exc
    try:
        async with asyncio.timeout(timeout):
            await connection.connect(timeout=timeout)
    except (aiormq.exceptions.AMQPError, OSError, RuntimeError) as exc:
        await _close_quietly(connection)
        reason = _reason(exc, timeout)
        _log.debug("connect failed", broker=describe_url(url), exc_info=True)
        message = f"cannot connect to RabbitMQ at {describe_url(url)}: {reason}"
        raise MessagingError(message) from exc
    except BaseException:
        await _close_quietly(connection)
        raise
    return connection


async def _close_quietly(connection: aio_pika.RobustConnection) -> None:
    try:
        await asyncio.shield(connection.close())
    except Exception:  # noqa: BLE001 - it never opened; nothing more to do
        _log.debug("closing a connection that never opened failed", exc_info=True)


class ConnectionLog:
    """One warning when ``connection`` goes, one info line when it is back."""

    def __init__(self, connection: aio_pika.RobustConnection, *, role: str, broker: str) -> None:
        """Watch ``connection`` (the ``role`` it plays: publishing or consuming)."""
        self._role = role
        self._broker = broker
        self.lost = False
        connection.close_callbacks.add(self._on_close)
        connection.reconnect_callbacks.add(self._on_reconnect)

    def _on_close(self, connection: Any, exc: BaseException | None) -> None:
        if self.lost or connection.close_called:
            return  # already reported, or closed on purpose
        self.lost = True
        _log.warning(
            "lost the RabbitMQ connection; reconnecting",
            connection=self._role,
            broker=self._broker,
            error=type(exc).__name__ if exc is not None else None,
        )

    def _on_reconnect(self, *_: Any) -> None:
        if self.lost:
            self.lost = False
            _log.info("RabbitMQ connection is back", connection=self._role, broker=self._broker)


#: What aio-pika and aiormq log (at warning or error, every second while the broker is away)
#: about a connection svckit already reports through `ConnectionLog`: the format strings.
_NOISE = (
    "Reconnect attempt failed",
    "Connection attempt to",
    "Connection to %s closed",
    "Unexpected connection close from remote",
    "Cancelling cause reader exited abnormally",
    "Server connection %r was stuck",
    "error when creating transport",
    "Closing channel %r because RPC call",
    "Failed to execute close callbacks",
)


#: aio-pika's line for a failed callback: noise when a channel's close callback tried to
#: reopen it on the connection that just went (aio-pika reopens it once it is back).
_CALLBACK_ERROR = "Callback %r error: %s: %s"
_CLOSED_ERRORS = (
    RuntimeError,
    aiormq.exceptions.AMQPConnectionError,
    aiormq.exceptions.ChannelInvalidStateError,
)


def _is_noise(record: logging.LogRecord) -> bool:
    msg = record.msg
    if record.levelno <= logging.DEBUG or not isinstance(msg, str):
        return False
    if msg == _CALLBACK_ERROR:
        args = record.args if isinstance(record.args, tuple) else ()
        return len(args) == 3 and isinstance(args[2], _CLOSED_ERRORS)  # noqa: PLR2004
    return msg.startswith(_NOISE)


class _DemoteReconnectNoise(logging.Filter):
    """Turns the client libraries' reconnect lines into debug lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _is_noise(record):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


_FILTER = _DemoteReconnectNoise()
_NOISY = (
    "aio_pika.tools",
    "aio_pika.robust_connection",
    "aio_pika.connection",
    "aiormq.connection",
    "aiormq.channel",
)


def quiet_reconnect_logs() -> None:
    """Demote the client libraries' reconnect lines to debug (idempotent)."""
    for name in _NOISY:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
