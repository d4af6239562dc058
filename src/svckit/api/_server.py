"""`HttpServer`: uvicorn as an intake of the service, so the lifecycle drives it.

The service opens its resources, then starts this intake (uvicorn binds and accepts);
on shutdown, readiness goes false, `stop` closes the listening sockets (a new
connection is refused), asks every connection to close once its response is sent
(keep-alive ones at once), and waits for the requests in flight under the shutdown
deadline, cutting off what is left; only then do the consumers stop and the resources
close. uvicorn's own lifespan and signal handling stay off: the service has both.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import uvicorn

from svckit.core.errors import LifecycleError
from svckit.core.logging import get_logger
from svckit.core.work import DrainReport

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["HttpServer"]

_log = get_logger("svckit.api")

#: How often the server's date header is renewed and a drain looks again.
_TICK = 0.05


class HttpServer:
    """Serves an ASGI app with uvicorn while the service runs.

    Attributes:
        name: ``"http"``.
        port: The port bound (useful with port 0), once started.
    """

    name = "http"

    def __init__(
        self,
        app: Callable[..., Any],
        *,
        host: str,
        port: int,
        shutdown_timeout: float,
        **options: Any,
    ) -> None:
        """Prepare to serve ``app`` on ``host:port``; ``options`` go to ``uvicorn.Config``."""
        self._config = uvicorn.Config(
            app,
            host=host,
            port=port,
            lifespan="off",
            access_log=False,
            log_config=None,
            server_header=False,
            timeout_graceful_shutdown=int(shutdown_timeout) or 1,
            **options,
        )
        self._shutdown_timeout = shutdown_timeout
        self._server: uvicorn.Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._report: DrainReport | None = None
        self.port: int | None = None

    async def start(self) -> None:
        """Bind and start accepting connections."""
        config = self._config
        if not config.loaded:
            config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        try:
            await server.startup()
        except SystemExit as exc:
            # uvicorn exits when it cannot bind; it has logged the OSError.
            raise LifecycleError(
                f"the HTTP server could not listen on {config.host}:{config.port}"
            ) from exc
        self._server = server
        self.port = server.servers[0].sockets[0].getsockname()[1]
        self._ticker = asyncio.create_task(server.main_loop(), name="svckit:http-ticker")
        _log.info("http server listening", host=config.host, port=self.port)

    async def stop(self) -> None:
        """Refuse new connections, then let the requests in flight finish (bounded)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.should_exit = True
        if self._ticker is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for listener in server.servers:
            listener.close()
        state = server.server_state
        busy = len(state.tasks)
        _log.info("http server closed to new connections; finishing requests", in_flight=busy)
        for connection in list(state.connections):
            connection.shutdown()
        try:
            async with asyncio.timeout(self._shutdown_timeout):
                # uvicorn sets no event when its last connection closes: look again.
                while state.connections or state.tasks:  # noqa: ASYNC110
                    await asyncio.sleep(_TICK)
        except TimeoutError:
            cut_off = len(state.tasks)
            for task in list(state.tasks):
                task.cancel(msg="cut off at the shutdown deadline")
            self._report = DrainReport(drained=max(busy - cut_off, 0), cut_off=cut_off)
        else:
            self._report = DrainReport(drained=busy)
        for listener in server.servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(listener.wait_closed(), 1.0)

    async def drain(self, timeout: float) -> DrainReport:
        """What `stop` drained and cut off (it already waited)."""
        del timeout
        return self._report or DrainReport()
