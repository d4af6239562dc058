"""A tiny HTTP server for liveness and readiness, for kinds that have no web front.

It needs nothing beyond asyncio: ``GET /livez`` answers 200 while the process should keep
running, ``GET /readyz`` answers 200 while the service should be sent work and 503
otherwise; both return the `HealthReport` as JSON. One server can report on several
services run in one process (``svckit run A B``): it is ready when all of them are.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Self

from svckit.core.logging import get_logger

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

    from svckit.core.health import HealthReport
    from svckit.core.service import Service

__all__ = ["HealthServer"]

_log = get_logger("svckit.health")

#: The longest request head the server reads; probes send a few dozen bytes.
MAX_REQUEST = 8192
READ_TIMEOUT = 5.0


class HealthServer:
    """Serves ``/livez`` and ``/readyz`` for one or more services.

    Example:
        ```python
        async with HealthServer([service], host="0.0.0.0", port=8081):
            await service.run(serve_health=False)
        ```
    """

    def __init__(self, services: Sequence[Service], *, host: str, port: int) -> None:
        """Report on ``services`` at ``host:port`` (port 0 picks a free one)."""
        self._services = list(services)
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The port it listens on (useful after asking for port 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> Self:
        """Start listening."""
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        _log.info("health endpoints listening", host=self._host, port=self.port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def reports(self) -> list[HealthReport]:
        """The current report of every service."""
        return list(await asyncio.gather(*(s.health_report() for s in self._services)))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            status, body = await self._respond(head)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            status, body = 400, {"error": "bad request"}
        except ConnectionError:
            return
        payload = json.dumps(body).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
        writer.write(
            f"HTTP/1.1 {status} {reason.get(status, 'Service Unavailable')}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n"
            "Cache-Control: no-store\r\n"
            "Connection: close\r\n\r\n".encode()
            + payload
        )
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    async def _respond(self, head: bytes) -> tuple[int, object]:
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        if len(parts) != 3:  # noqa: PLR2004 - method, target, version
            return 400, {"error": "bad request"}
        method, target, _ = parts
        path = target.split("?", 1)[0]
        if path not in {"/livez", "/readyz", "/healthz"}:
            return 404, {"error": "not found", "paths": ["/livez", "/readyz"]}
        if method not in {"GET", "HEAD"}:
            return 405, {"error": "method not allowed"}
        reports = await self.reports()
        ok = all(r.live for r in reports) if path == "/livez" else all(r.ready for r in reports)
        body: object = (
            reports[0].model_dump(mode="json")
            if len(reports) == 1
            else {"services": [r.model_dump(mode="json") for r in reports]}
        )
        return (200 if ok else 503), body
