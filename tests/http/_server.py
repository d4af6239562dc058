"""A real HTTP server on 127.0.0.1 that records what it receives and misbehaves on request.

Any path answers. Its query string tells the server how to behave, counted per path:

- ``fail=N&status=S`` answers the first N requests with status S (503 by default),
  with ``Retry-After: X`` when ``retry_after=X`` is given, then 200;
- ``stall=N`` holds the first N requests until the server stops (or `release` is set),
  past any read timeout of the client;
- ``/health`` answers with `RecordingServer.health_status` once the above are done.

A 200 answer is JSON: ``{"n": <this request's number on its path>}``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    peer_port: int


class RecordingServer:
    """An aiohttp server on an ephemeral port of 127.0.0.1."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.health_status = 200
        self.release = asyncio.Event()
        self._counts: Counter[str] = Counter()
        self._arrived = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()  # listening once this returns
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self.release.set()
        await self._runner.cleanup()

    def to(self, path: str) -> list[Seen]:
        """The requests received on ``path``."""
        return [seen for seen in self.seen if seen.path == path]

    async def wait_for(self, path: str, count: int = 1) -> None:
        """Return once ``count`` requests reached ``path``; fail after ten seconds."""
        async with asyncio.timeout(10), self._arrived:
            await self._arrived.wait_for(lambda: len(self.to(path)) >= count)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self._counts[path] += 1
        number = self._counts[path]
        transport = request.transport
        assert transport is not None
        self.seen.append(
            Seen(
                method=request.method,
                path=path,
                query=request.query_string,
                headers={name.lower(): value for name, value in request.headers.items()},
                body=await request.read(),
                peer_port=transport.get_extra_info("peername")[1],
            )
        )
        async with self._arrived:
            self._arrived.notify_all()
        query = request.query
        if number <= int(query.get("stall", "0")):
            await self.release.wait()
        if number <= int(query.get("fail", "0")):
            headers = {"Retry-After": query["retry_after"]} if "retry_after" in query else {}
            return web.Response(status=int(query.get("status", "503")), headers=headers)
        if path == "/health":
            return web.Response(status=self.health_status)
        return web.json_response({"n": number})
