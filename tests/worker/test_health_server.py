"""The health port: /livez and /readyz over plain HTTP, with the service's real state."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from typing import TYPE_CHECKING, Any

from structlog.testing import capture_logs

from svckit import Health
from svckit.core.health_server import HealthServer
from svckit.testing import ServiceHarness
from tests.worker.sample_services import Thumbnails

if TYPE_CHECKING:
    from collections.abc import Callable


async def _exchange(port: int, request: bytes) -> bytes:
    """Send ``request``, read until the server closes; the whole response."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(10):
            return await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()


def _parse(response: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split(" ")[1]), headers, body


async def _get(port: int, request: bytes) -> tuple[int, Any]:
    status, _, body = _parse(await _exchange(port, request))
    return status, json.loads(body)


async def _until(condition: Callable[[], object]) -> None:
    """Wait until ``condition()`` holds, failing after 10 seconds."""
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - the server's connections have no event
            await asyncio.sleep(0.01)


def _request(method: str, path: str) -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: probe\r\n\r\n".encode()


async def test_readiness_follows_the_lifecycle_and_liveness_stays_up() -> None:
    harness = ServiceHarness(Thumbnails)
    async with HealthServer([harness.service], host="127.0.0.1", port=0) as server:
        status, body = await _get(server.port, _request("GET", "/readyz"))
        assert (status, body["state"], body["ready"]) == (503, "new", False)

        async with harness:
            status, body = await _get(server.port, _request("GET", "/readyz"))
            assert status == 200
            assert body["ready"] is True
            assert body["checks"]["bus"]["status"] == "up"
            assert body["checks"]["cache"]["status"] == "up"
            status, _ = await _get(server.port, _request("GET", "/livez"))
            assert status == 200

        status, body = await _get(server.port, _request("GET", "/readyz"))
        assert (status, body["state"]) == (503, "stopped")


async def test_a_resource_that_is_down_makes_the_service_not_ready() -> None:
    async with ServiceHarness(Thumbnails) as harness:
        cache = harness.service.cache

        async def degraded() -> Health:
            return Health.degraded("redis unreachable; failing open")

        async def down() -> Health:
            return Health.down("no broker")

        async with HealthServer([harness.service], host="127.0.0.1", port=0) as server:
            cache.health = degraded  # type: ignore[method-assign]
            status, body = await _get(server.port, _request("GET", "/readyz"))
            assert (status, body["status"]) == (200, "degraded")

            harness.service.bus.health = down  # type: ignore[method-assign]
            status, body = await _get(server.port, _request("GET", "/readyz"))
            assert (status, body["status"]) == (503, "down")
            assert body["checks"]["bus"] == {"status": "down", "detail": "no broker"}


async def test_wrong_paths_methods_and_garbage_get_precise_errors() -> None:
    async with (
        ServiceHarness(Thumbnails) as harness,
        HealthServer([harness.service], host="127.0.0.1", port=0) as server,
    ):
        assert (await _get(server.port, _request("GET", "/nope")))[0] == 404
        assert (await _get(server.port, _request("POST", "/readyz")))[0] == 405
        assert (await _get(server.port, b"garbage\r\n\r\n"))[0] == 400


async def test_one_server_reports_on_several_services() -> None:
    one, two = ServiceHarness(Thumbnails), ServiceHarness(Thumbnails)
    async with one, HealthServer([one.service, two.service], host="127.0.0.1", port=0) as server:
        status, body = await _get(server.port, _request("GET", "/readyz"))
        assert status == 503, "ready only when every service is"
        assert [s["state"] for s in body["services"]] == ["running", "new"]
        async with two:
            status, _ = await _get(server.port, _request("GET", "/readyz"))
            assert status == 200


async def test_head_answers_the_headers_of_get_without_the_body() -> None:
    async with (
        ServiceHarness(Thumbnails) as harness,
        HealthServer([harness.service], host="127.0.0.1", port=0) as server,
    ):
        get = _parse(await _exchange(server.port, _request("GET", "/readyz")))
        head = _parse(await _exchange(server.port, _request("HEAD", "/readyz")))
        missing = _parse(await _exchange(server.port, _request("HEAD", "/nope")))

    assert (get[0], head[0]) == (200, 200)
    assert head[2] == b"", "a HEAD response has no body"
    assert head[1]["content-length"] == str(len(get[2])) == get[1]["content-length"]
    assert head[1]["content-type"] == "application/json"
    assert head[1]["connection"] == "close"
    assert (missing[0], missing[2]) == (404, b"")


async def test_a_method_that_is_not_allowed_says_which_are() -> None:
    async with (
        ServiceHarness(Thumbnails) as harness,
        HealthServer([harness.service], host="127.0.0.1", port=0) as server,
    ):
        status, headers, _ = _parse(await _exchange(server.port, _request("DELETE", "/livez")))

    assert (status, headers["allow"]) == (405, "GET, HEAD")


async def test_an_oversized_request_gets_431_and_is_closed() -> None:
    padding = "x" * 9000  # over MAX_REQUEST (8192), under asyncio's 64 KiB stream limit
    whole = f"GET /readyz HTTP/1.1\r\nHost: probe\r\nX-Pad: {padding}\r\n\r\n".encode()
    unfinished = f"GET /readyz HTTP/1.1\r\nHost: probe\r\nX-Pad: {padding}".encode()
    async with (
        ServiceHarness(Thumbnails) as harness,
        HealthServer([harness.service], host="127.0.0.1", port=0) as server,
    ):
        # _exchange reads until the server closes: a response means it was closed.
        for request in (whole, unfinished):
            status, _, body = _parse(await _exchange(server.port, request))
            assert (status, json.loads(body)) == (431, {"error": "request header fields too large"})


async def test_a_client_that_never_finishes_its_request_is_answered_408_and_closed() -> None:
    async with (
        ServiceHarness(Thumbnails) as harness,
        HealthServer([harness.service], host="127.0.0.1", port=0, read_timeout=0.2) as server,
    ):
        # A slowloris: the head is never finished; the server does not wait for it forever.
        status, headers, _ = _parse(await _exchange(server.port, b"GET /readyz HTTP/1.1\r\n"))

    assert (status, headers["connection"]) == (408, "close")


async def test_a_connection_reset_mid_request_is_closed_without_noise() -> None:
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: errors.append(context))
    try:
        async with (
            ServiceHarness(Thumbnails) as harness,
            HealthServer([harness.service], host="127.0.0.1", port=0) as server,
        ):
            with capture_logs() as logs:
                _, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.write(b"GET /rea")
                await writer.drain()
                await _until(lambda: server._connections)
                # Linger 0: closing sends a TCP reset instead of a clean end.
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                await _until(lambda: not server._connections)
            # The server still answers the next probe.
            status, _ = await _get(server.port, _request("GET", "/livez"))
    finally:
        loop.set_exception_handler(None)

    assert status == 200
    assert errors == []
    assert [log for log in logs if log["log_level"] in {"warning", "error", "critical"}] == []


async def test_stopping_the_server_closes_the_connections_it_still_holds() -> None:
    async with (
        ServiceHarness(Thumbnails) as harness,
        HealthServer([harness.service], host="127.0.0.1", port=0) as server,
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /readyz HTTP/1.1\r\n")  # an unfinished request
        await writer.drain()
        await _until(lambda: server._connections)
    # Closed without an answer (an end or a reset: the request may not have been read),
    # rather than left to the read timeout.
    try:
        async with asyncio.timeout(10):
            with contextlib.suppress(ConnectionResetError):
                assert await reader.read() == b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionResetError):
            await writer.wait_closed()
