"""A tiny HTTP server for liveness and readiness, for kinds that have no web front.

``GET /livez`` answers 200 while the process should keep running, ``GET /readyz`` answers
200 while the service should be sent work and 503 otherwise; both return the
`HealthReport` as JSON, and ``HEAD`` returns the same headers without the body. One server
can report on several services run in one process (``svckit run A B``): it is ready when
all of them are.

The requests are parsed by h11, and each connection is bounded: one request, a head of
at most `MAX_REQUEST` bytes (431 beyond), `READ_TIMEOUT` seconds to send it (408 after),
then the answer and ``Connection: close``. A peer that goes away mid-request is simply
forgotten: its connection is closed and nothing is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Self

import h11

from svckit.core.logging import get_logger

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

    from svckit.core.health import HealthReport
    from svckit.core.service import Service

__all__ = ["HealthServer"]

_log = get_logger("svckit.health")

#: The longest request head the server reads, in bytes; probes send a few dozen.
MAX_REQUEST = 8192
#: Seconds a client has to send its request (and to take the answer).
READ_TIMEOUT = 5.0

_PATHS = ("/livez", "/readyz")
#: An older name of ``/readyz``, still answered.
_ALIASES = {"/healthz": "/readyz"}
_METHODS = (b"GET", b"HEAD")


class _RequestTooLargeError(Exception):
    """The request head grew past the server's limit before it was complete."""


class HealthServer:
    """Serves ``/livez`` and ``/readyz`` for one or more services.

    Example:
        ```python
        async with HealthServer([service], host="0.0.0.0", port=8081):
            await service.run(serve_health=False)
        ```
    """

    def __init__(
        self,
        services: Sequence[Service],
        *,
        host: str,
        port: int,
        read_timeout: float = READ_TIMEOUT,
        max_request: int = MAX_REQUEST,
    ) -> None:
        """Report on ``services`` at ``host:port`` (port 0 picks a free one).

        Args:
            services: The services reported on; ready when all of them are.
            host: The address to listen on.
            port: The port to listen on; 0 picks a free one (see `port`).
            read_timeout: Seconds a client has to send its request head.
            max_request: The longest request head accepted, in bytes.
        """
        self._services = list(services)
        self._host = host
        self._port = port
        self._read_timeout = read_timeout
        self._max_request = max_request
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[object]] = set()
        self._stopping = False

    @property
    def port(self) -> int:
        """The port it listens on (useful after asking for port 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> Self:
        """Start listening."""
        self._server = await asyncio.start_server(
            self._serve, self._host, self._port, limit=self._max_request
        )
        _log.info("health endpoints listening", host=self._host, port=self.port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop listening and close the connections still open."""
        if self._server is None:
            return
        self._server.close()
        self._stopping = True
        try:
            for task in self._connections:
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()
        finally:
            self._server, self._stopping = None, False

    async def reports(self) -> list[HealthReport]:
        """The current report of every service."""
        return list(await asyncio.gather(*(s.health_report() for s in self._services)))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        answered = False
        try:
            await self._exchange(reader, writer)
            answered = True
        except (ConnectionError, TimeoutError):
            pass  # the peer went away, or does not read: no one to answer, nothing to report
        except asyncio.CancelledError:
            # Cancelled by __aexit__: the connection ends here. (Ending the task cancelled
            # would make asyncio 3.11 log an error for every connection still open.)
            if not self._stopping:
                raise
        finally:
            if task is not None:
                self._connections.discard(task)
            if answered:
                writer.close()  # after what is written has gone out
            else:
                writer.transport.abort()  # at once: a peer that does not read cannot hold it
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read one request, write one answer."""
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=self._max_request)
        head_only = False
        try:
            async with asyncio.timeout(self._read_timeout):
                request = await self._read_request(connection, reader)
        except _RequestTooLargeError:
            status, body = _error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
        except h11.RemoteProtocolError as exc:
            status, body = _error(HTTPStatus(exc.error_status_hint))
        except TimeoutError:
            status, body = _error(HTTPStatus.REQUEST_TIMEOUT)
        else:
            if request is None:
                return  # closed before asking anything
            head_only = request.method == b"HEAD"
            status, body = await self._respond(request)
        payload = json.dumps(body).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Cache-Control", "no-store"),
            ("Connection", "close"),
        ]
        if status is HTTPStatus.METHOD_NOT_ALLOWED:
            headers.append(("Allow", "GET, HEAD"))
        response = h11.Response(status_code=status, reason=status.phrase.encode(), headers=headers)
        # For HEAD, h11 keeps the GET's Content-Length and refuses any body bytes.
        writer.write(
            connection.send(response)
            + connection.send(h11.Data(data=b"" if head_only else payload))
            + connection.send(h11.EndOfMessage())
        )
        async with asyncio.timeout(self._read_timeout):
            await writer.drain()

    async def _read_request(
        self, connection: h11.Connection, reader: asyncio.StreamReader
    ) -> h11.Request | None:
        """The request, or None when the peer closes before sending one.

        Raises:
            _RequestTooLargeError: the head is longer than ``max_request`` bytes.
            h11.RemoteProtocolError: the bytes are not an HTTP/1.1 request.
        """
        received = 0
        while True:
            event = connection.next_event()
            if isinstance(event, h11.Request):
                return event
            if event is not h11.NEED_DATA:
                return None  # ConnectionClosed: nothing was asked
            if received > self._max_request:
                raise _RequestTooLargeError
            # Never more than one byte past the limit, so a whole oversized head that
            # arrives at once is refused too, not only an incomplete one.
            data = await reader.read(self._max_request + 1 - received)
            received += len(data)
            connection.receive_data(data)  # b"" tells h11 the peer closed

    async def _respond(self, request: h11.Request) -> tuple[HTTPStatus, object]:
        path = request.target.partition(b"?")[0].decode("latin-1")
        path = _ALIASES.get(path, path)
        if path not in _PATHS:
            return HTTPStatus.NOT_FOUND, {"error": "not found", "paths": list(_PATHS)}
        if request.method not in _METHODS:
            return _error(HTTPStatus.METHOD_NOT_ALLOWED)
        try:
            reports = await self.reports()
        except Exception:  # noqa: BLE001 - a probe gets a 500, and the log the traceback
            _log.exception("health report failed")
            return _error(HTTPStatus.INTERNAL_SERVER_ERROR)
        ok = all(r.live for r in reports) if path == "/livez" else all(r.ready for r in reports)
        body: object = (
            reports[0].model_dump(mode="json")
            if len(reports) == 1
            else {"services": [r.model_dump(mode="json") for r in reports]}
        )
        return (HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE), body


def _error(status: HTTPStatus) -> tuple[HTTPStatus, object]:
    return status, {"error": status.phrase.lower()}
